import assert from 'node:assert/strict';
import { documentText, sourceDocument, speakableLine } from '../../src/sources/markdown';

describe('sources/markdown', () => {
  it('turns headings into sections and keeps the words of emphasis, links and lists', () => {
    const doc = sourceDocument(
      '# 声音工作室的一天\n\n开头一段，**重点**和[链接](https://a.example/x)。\n第二行。\n\n## Part one\n\n- item *one*\n- item two\n\n## Empty part\n### Inner\nText under inner.',
    );
    assert.equal(doc.title, '声音工作室的一天');
    assert.deepEqual(doc.sections, [
      { title: null, paragraphs: ['开头一段，重点和链接。第二行。'] },
      { title: 'Part one', paragraphs: ['item one.', 'item two.'] },
      { title: 'Empty part: Inner', paragraphs: ['Text under inner.'] },
    ]);
  });

  it('drops code, images, tables, raw HTML, link definitions, bare URLs and reference sections', () => {
    const doc = sourceDocument(
      [
        'Read https://example.com/page?x=1 and www.example.org today.',
        '```\nrm -rf /\n```',
        '![chart](chart.png)',
        '| a | b |\n|---|---|\n| 1 | 2 |',
        '<div>raw <b>html</b></div>',
        '[1]: https://example.com/ref',
        '## References',
        '1. Smith, J. (2020). A paper.',
        '### Also skipped',
        'Still references.',
        '## Afterword',
        'Kept again.',
      ].join('\n\n'),
    );
    const text = documentText(doc);
    assert.equal(text, 'Read and today.\n\nAfterword\n\nKept again.');
  });

  it('cleans one script line the same way', () => {
    assert.equal(speakableLine('**Well**, see https://foo.com/bar — or `npm`.'), 'Well, see — or npm.');
    assert.equal(speakableLine('## A heading\nThen text'), 'A heading. Then text.');
    assert.equal(speakableLine('Plain words & symbols < 5.'), 'Plain words & symbols < 5.');
  });
});
