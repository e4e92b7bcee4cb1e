import { Document, FootnoteReferenceRun, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { Reply, TestApi } from './api';

/**
 * Documents made inside the tests, as a word processor or a PDF printer would make them: PDFs
 * with a real text layer (pdf-lib, standard fonts), DOCX files with Word's heading styles (docx).
 */

/** A PDF of pages of lines ('' leaves a paragraph gap), each page with an optional running head and footer. */
export async function makePdf(pages: string[][], opts: { title?: string; runningHead?: string; footer?: (page: number, of: number) => string } = {}) {
  const doc = await PDFDocument.create();
  if (opts.title) doc.setTitle(opts.title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  pages.forEach((lines, i) => {
    const page = doc.addPage([595, 842]);
    if (opts.runningHead) page.drawText(opts.runningHead, { x: 50, y: 800, size: 9, font });
    let y = 740;
    for (const line of lines) {
      if (line === '') y -= 14;
      else {
        page.drawText(line, { x: 50, y, size: 12, font });
        y -= 15;
      }
    }
    const footer = opts.footer?.(i + 1, pages.length);
    if (footer) page.drawText(footer, { x: 280, y: 40, size: 9, font });
  });
  return Buffer.from(await doc.save());
}

/** A PDF of one page with only a drawing on it: what a scanner makes, no text layer. */
export async function imageOnlyPdf() {
  const doc = await PDFDocument.create();
  doc.addPage([595, 842]).drawRectangle({ x: 50, y: 50, width: 400, height: 600 });
  return Buffer.from(await doc.save());
}

export type DocxBlock = { title: string } | { heading: 1 | 2 | 3; text: string } | { text: string; footnote?: string };

/** A DOCX whose headings use Word's Title and Heading styles; a paragraph may carry a footnote. */
export async function makeDocx(blocks: DocxBlock[]) {
  const footnotes: Record<number, { children: Paragraph[] }> = {};
  const children = blocks.map((b) => {
    if ('title' in b) return new Paragraph({ text: b.title, heading: HeadingLevel.TITLE });
    if ('heading' in b)
      return new Paragraph({ text: b.text, heading: [HeadingLevel.HEADING_1, HeadingLevel.HEADING_2, HeadingLevel.HEADING_3][b.heading - 1] });
    if (!b.footnote) return new Paragraph(b.text);
    const n = Object.keys(footnotes).length + 1;
    footnotes[n] = { children: [new Paragraph(b.footnote)] };
    return new Paragraph({ children: [new TextRun(b.text), new FootnoteReferenceRun(n)] });
  });
  return Packer.toBuffer(new Document({ footnotes, sections: [{ children }] }));
}

/** POST /v1/uploads as a browser form sends it: one file in the field `file`. */
export async function uploadDocument(api: TestApi, token: string, file: { name: string; bytes: Uint8Array; type?: string }, field = 'file'): Promise<Reply> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'application/octet-stream' }), file.name);
  const res = await fetch(`${api.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text };
}
