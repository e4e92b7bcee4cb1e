import assert from 'node:assert/strict';
import { documentKindOf, extractDocument } from '../../src/sources/documents';
import { SourceError } from '../../src/sources/errors';
import { imageOnlyPdf, makeDocx, makePdf } from '../helpers/documents';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('sources/documents', () => {
  describe('documentKindOf', () => {
    const kind = (filename: string, head: Uint8Array, contentType?: string) => documentKindOf({ filename, contentType, head });

    it('knows PDF and DOCX by their bytes, whatever their name says', async () => {
      assert.equal(kind('scan.bin', await imageOnlyPdf()), 'pdf');
      assert.equal(kind('report.docx', await makeDocx([{ text: 'Hi' }])), 'docx');
      assert.equal(kind('report', await makeDocx([{ text: 'Hi' }]), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'), 'docx');
      assert.equal(kind('fake.pdf', utf8('just text')), null, 'a .pdf that is not a PDF');
    });

    it('tells Markdown from plain text by name or declared type, and refuses binaries and archives', () => {
      assert.equal(kind('notes.md', utf8('# Notes')), 'markdown');
      assert.equal(kind('notes', utf8('# Notes'), 'text/markdown; charset=utf-8'), 'markdown');
      assert.equal(kind('notes.txt', utf8('Notes')), 'text');
      assert.equal(kind('notes', utf8('Notes'), 'text/plain'), 'text');
      assert.equal(kind('notes', utf8('Notes')), null, 'nothing says what it is');
      assert.equal(kind('setup.exe', Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), 'application/octet-stream'), null);
      assert.equal(kind('setup.txt', Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1')), null, 'a renamed executable');
      assert.equal(kind('archive.zip', Buffer.from('PK\x03\x04\x14\x00', 'latin1')), null);
      assert.equal(kind('photo.png', Buffer.from('\x89PNG\r\n\x1a\n\x00\x00', 'latin1')), null);
    });
  });

  describe('PDF', () => {
    it('reads paragraphs, drops running heads, footers and page numbers, and the reference list', async () => {
      const pdf = await makePdf(
        [
          [
            'Rivers carry water from the mountains to the sea. They shape valleys over long',
            'periods of time and feed the plains.',
            '',
            'Tides rise twice a day.',
          ],
          ['The delta forms where a river slows down. Sediment settles and builds very fer-', 'tile land for farming.'],
          ['Estuaries mix fresh and salt water.', '', 'References', '[1] Smith, J. Rivers of the World. 2001.', '[2] Doe, A. Tides. 1999.'],
        ],
        { title: 'Rivers and Tides', runningHead: 'Journal of Water Studies, Vol. 3', footer: (n, of) => `Page ${n} of ${of}` },
      );
      const doc = await extractDocument(pdf, 'pdf');
      assert.equal(doc.title, 'Rivers and Tides');
      assert.equal(
        doc.text,
        [
          'Rivers carry water from the mountains to the sea. They shape valleys over long periods of time and feed the plains.',
          'Tides rise twice a day.',
          'The delta forms where a river slows down. Sediment settles and builds very fertile land for farming.',
          'Estuaries mix fresh and salt water.',
        ].join('\n\n'),
      );
    });

    it('drops bare page numbers, and keeps a line that repeats in the middle of every page', async () => {
      const page = (n: string) => [`Verse ${n} begins.`, 'It goes on.', 'Chorus line.', 'Then it ends', `with word ${n}.`];
      const pdf = await makePdf([page('one'), page('two'), page('three')], { footer: (n) => `- ${n} -` });
      const doc = await extractDocument(pdf, 'pdf');
      assert.doesNotMatch(doc.text, /- \d -/);
      assert.equal(doc.text.match(/Chorus line\./g)?.length, 3, doc.text);
      assert.match(doc.text, /Then it ends with word three\.$/);
    });

    it('gives no text for a page without a text layer (a scan)', async () => {
      assert.deepEqual(await extractDocument(await imageOnlyPdf(), 'pdf'), { text: '', title: null });
    });

    it('refuses bytes that are not a readable PDF', async () => {
      await assert.rejects(
        extractDocument(utf8('%PDF-1.7\nnot really'), 'pdf'),
        (err: unknown) => err instanceof SourceError && err.code === 'SOURCE_UNREADABLE',
      );
    });
  });

  describe('DOCX', () => {
    it('writes Word headings as Markdown headings and drops footnotes and the bibliography, keeping an appendix after it', async () => {
      const docx = await makeDocx([
        { title: 'Annual Report' },
        { heading: 1, text: 'Introduction' },
        { text: 'Our year was busy and good.', footnote: 'Measured by revenue.' },
        { heading: 2, text: 'Highlights' },
        { text: '今年我们开设了三家新店。' },
        { text: '# not a heading, a paragraph that starts with a hash sign' },
        { heading: 1, text: 'Bibliography' },
        { text: 'Smith, J. Retail. 2020.' },
        { heading: 1, text: 'Appendix' },
        { text: 'Store list follows.' },
      ]);
      const doc = await extractDocument(docx, 'docx');
      assert.equal(doc.title, 'Annual Report');
      assert.equal(
        doc.text,
        [
          '# Annual Report',
          '# Introduction',
          'Our year was busy and good.',
          '## Highlights',
          '今年我们开设了三家新店。',
          '\\# not a heading, a paragraph that starts with a hash sign',
          '# Appendix',
          'Store list follows.',
        ].join('\n\n'),
      );
    });

    it('refuses a zip that is not a Word document', async () => {
      await assert.rejects(
        extractDocument(Buffer.from('PK\x03\x04 not a real archive', 'latin1'), 'docx'),
        (err: unknown) => err instanceof SourceError && err.code === 'SOURCE_UNREADABLE',
      );
    });
  });

  describe('Markdown and plain text', () => {
    it('reads Markdown into headings and paragraphs: markup, links and images go, their words stay', async () => {
      const md = [
        'Field Notes',
        '===========',
        '',
        'Birds *sing* at [dawn](https://example.com/dawn) ![a bird](bird.png)',
        'and at dusk.',
        '',
        '- Robins',
        '- Wrens',
        '',
        '### 参考文献',
        '',
        '1. Someone, 2001.',
      ].join('\n');
      const doc = await extractDocument(utf8(md), 'markdown');
      assert.equal(doc.title, 'Field Notes');
      assert.equal(doc.text, ['# Field Notes', 'Birds sing at dawn and at dusk.', 'Robins', 'Wrens'].join('\n\n'));
    });

    it('joins wrapped lines of plain text into paragraphs (no space inside Chinese), and drops a closing reference list', async () => {
      const text = 'First paragraph, wrapped\nat seventy columns.\r\n\r\n第一段的内容\n接着写。\n\n\nReferences:\nA. Author, 1999.\n\nB. Author, 2001.';
      const doc = await extractDocument(utf8(text), 'text');
      assert.deepEqual(doc, { text: 'First paragraph, wrapped at seventy columns.\n\n第一段的内容接着写。', title: null });
    });

    it('reads GB 18030 text (common for Chinese files) as well as UTF-8', async () => {
      const gbk = Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0xca, 0xc0, 0xbd, 0xe7]); // 你好世界
      assert.equal((await extractDocument(gbk, 'text')).text, '你好世界');
    });

    it('keeps characters Markdown would act on literal', async () => {
      const doc = await extractDocument(utf8('Use a*b and x_y, not <b>bold</b> [sic].'), 'text');
      assert.equal(doc.text, 'Use a\\*b and x\\_y, not \\<b\\>bold\\</b\\> \\[sic\\].');
    });
  });
});
