import assert from 'node:assert/strict';
import { applyPronunciations, compilePronunciations } from '../../src/script/pronunciations';

describe('pronunciation dictionary', () => {
  it('replaces whole words of spaced scripts, and leaves words that merely contain the term', () => {
    const dict = [{ term: 'AI', say: 'A.I.' }];
    assert.equal(applyPronunciations('AI is here, AI.', dict), 'A.I. is here, A.I..');
    assert.equal(applyPronunciations("the AI's voice", dict), "the A.I.'s voice");
    assert.equal(applyPronunciations('PAID MAIL AIR', dict), 'PAID MAIL AIR');
    assert.equal(applyPronunciations('AI2 and 2AI and AI_x', dict), 'AI2 and 2AI and AI_x');
    assert.equal(applyPronunciations('Привет, ПРИВЕТик', [{ term: 'Привет', say: 'Privet' }]), 'Privet, ПРИВЕТик');
  });

  it('is case-sensitive, so an acronym never rewrites an ordinary word', () => {
    const dict = [{ term: 'US', say: 'U.S.' }];
    assert.equal(applyPronunciations('The US told us', dict), 'The U.S. told us');
  });

  it('matches CJK terms anywhere, and Latin terms inside Chinese text', () => {
    assert.equal(applyPronunciations('声音工作室的声音', [{ term: '声音', say: 'shēngyīn' }]), 'shēngyīn工作室的shēngyīn');
    assert.equal(applyPronunciations('我们用AI做播客', [{ term: 'AI', say: '人工智能' }]), '我们用人工智能做播客');
    assert.equal(applyPronunciations('서울에서 만나요', [{ term: '서울', say: 'Seoul' }]), 'Seoul에서 만나요');
  });

  it('prefers the longest term where terms overlap', () => {
    const dict = [
      { term: 'York', say: 'yawk' },
      { term: 'New York', say: 'the big apple' },
      { term: '声音', say: 'X' },
      { term: '声音工作室', say: 'the studio' },
    ];
    assert.equal(applyPronunciations('New York, York, 声音工作室, 声音', dict), 'the big apple, yawk, the studio, X');
  });

  it('replaces in one pass: a replacement is never replaced again', () => {
    const dict = [
      { term: 'SQL', say: 'sequel' },
      { term: 'sequel', say: 'follow-up' },
    ];
    assert.equal(applyPronunciations('SQL, then a sequel', dict), 'sequel, then a follow-up');
    assert.equal(applyPronunciations('GIF', [{ term: 'GIF', say: 'GIF (jif)' }]), 'GIF (jif)');
  });

  it('takes terms literally, punctuation and regular-expression characters included', () => {
    const dict = [
      { term: 'C++', say: 'C plus plus' },
      { term: 'a.b', say: 'a dot b' },
      { term: '$5', say: 'five dollars' },
      { term: '(x|y)', say: 'x or y' },
    ];
    assert.equal(applyPronunciations('C++ and axb, a.b, $5 (x|y) x', dict), 'C plus plus and axb, a dot b, five dollars x or y x');
  });

  it('handles characters beyond the Basic Multilingual Plane at and around terms', () => {
    assert.equal(applyPronunciations('发射🚀了', [{ term: '🚀', say: 'rocket' }]), '发射rocket了');
    assert.equal(applyPronunciations('𝐀AI AI𝐀 AI', [{ term: 'AI', say: 'A-I' }]), '𝐀AI AI𝐀 A-I', 'a letter outside the BMP continues a word too');
  });

  it('gives text back unchanged without a dictionary', () => {
    const same = compilePronunciations([]);
    assert.equal(same('Anything at all.'), 'Anything at all.');
    assert.equal(applyPronunciations('No match here', [{ term: 'Kubernetes', say: 'koo-ber-net-eez' }]), 'No match here');
  });
});
