/**
 * The host's own words in an offline script: greetings, section introductions, short questions
 * between the guest's turns, and a sign-off, per language and style. They carry no facts, so
 * the script stays faithful to its source. Chinese for zh*, English for everything else.
 */

export type ScriptStyle = 'casual' | 'formal' | 'debate';

interface PhraseBank {
  /** {title} is the podcast's title. */
  opening: string;
  openingUntitled: string;
  /** {title} is the section's title. */
  sectionIntro: string[];
  followUp: string[];
  closing: string;
}

type Banks = Record<ScriptStyle, PhraseBank>;

const EN: Banks = {
  casual: {
    opening: "Welcome. Today: {title} I'm here with our guest to talk it through.",
    openingUntitled: "Welcome. Today we're reading an article together, with our guest.",
    sectionIntro: ["Let's get into {title}.", 'Next up: {title}.', 'Now, {title}. What do we have here?', 'Okay, {title}. Tell me about it.'],
    followUp: ['Go on.', 'Really? Then what?', 'Interesting. And?', 'Wait, tell me more.', 'Huh. Keep going.', 'Okay, and after that?', 'Right. What else?'],
    closing: "That's all for today. Thanks for listening.",
  },
  formal: {
    opening: 'Welcome to the programme. Our subject today: {title} Our guest will guide us through it.',
    openingUntitled: 'Welcome to the programme. Today our guest guides us through an article.',
    sectionIntro: ['Our next topic: {title}.', 'Let us turn to {title}.', 'We come now to {title}.'],
    followUp: ['Please continue.', 'Could you elaborate on that?', 'What follows from this?', 'And what else should we know?', 'Thank you. Please go on.'],
    closing: 'That concludes this episode. Thank you for listening.',
  },
  debate: {
    opening: "Welcome. Today's question: {title} Our guest makes the case, and I'll push back.",
    openingUntitled: "Welcome. Today our guest makes the case for an article, and I'll push back.",
    sectionIntro: ['Next point of contention: {title}.', 'Now, {title}. Make your case.', "Let's argue about {title}."],
    followUp: [
      'But is that the whole story?',
      "I'm not convinced. Go on.",
      'What backs that up?',
      'Some would disagree. Why not?',
      'Fine, but then what?',
      'Convince me.',
    ],
    closing: "That's where we'll leave the debate today. Thanks for listening.",
  },
};

const ZH: Banks = {
  casual: {
    opening: '欢迎收听。今天我们来聊：{title}我请来了嘉宾，一起好好聊聊。',
    openingUntitled: '欢迎收听。今天我和嘉宾一起来读一篇文章。',
    sectionIntro: ['咱们先来说说「{title}」。', '接下来聊聊「{title}」。', '下面是「{title}」，这部分讲了什么？', '好，「{title}」，给我们讲讲吧。'],
    followUp: ['然后呢？', '真的吗？接着说。', '有意思，还有呢？', '嗯，继续。', '这样啊，后来呢？', '对，还有什么？'],
    closing: '以上就是今天的内容，感谢收听，我们下期再见。',
  },
  formal: {
    opening: '欢迎收听本期节目。今天的主题是：{title}我们请嘉宾为大家讲解。',
    openingUntitled: '欢迎收听本期节目。今天请嘉宾为大家讲解一篇文章。',
    sectionIntro: ['下面进入下一个话题：「{title}」。', '我们来看「{title}」。', '接下来谈谈「{title}」。'],
    followUp: ['请您继续。', '能否再具体谈谈？', '这意味着什么呢？', '还有哪些值得了解的？', '谢谢，请继续。'],
    closing: '本期节目到此结束，感谢您的收听。',
  },
  debate: {
    opening: '欢迎收听。今天要辩的是：{title}嘉宾来立论，我来挑战。',
    openingUntitled: '欢迎收听。今天嘉宾为一篇文章立论，我来挑战。',
    sectionIntro: ['下一个争议点：「{title}」。', '再说「{title}」，请你立论。', '我们来辩一辩「{title}」。'],
    followUp: ['可事情真是这样吗？', '我不太信服，接着说。', '这个说法有依据吗？', '有人会反对，为什么不呢？', '好吧，那然后呢？', '说服我。'],
    closing: '今天就讨论到这里，感谢收听。',
  },
};

const MAX_TITLE_CHARS = 120;

export function isChinese(language: string): boolean {
  return /^zh(?:$|[-_])/i.test(language.trim()) || /^(cmn|yue|zho)(?:$|[-_])/i.test(language.trim());
}

function bankFor(language: string, style: ScriptStyle): PhraseBank {
  return (isChinese(language) ? ZH : EN)[style];
}

function cleanTitle(title: string | null | undefined): string | null {
  const t = (title ?? '').replace(/\s+/g, ' ').trim();
  if (t === '') return null;
  return t.length > MAX_TITLE_CHARS ? `${t.slice(0, MAX_TITLE_CHARS - 1).trimEnd()}…` : t;
}

/** A title placed where a sentence ends: add a full stop unless it already ends one. */
function asSentenceTitle(t: string, chinese: boolean): string {
  if (chinese) return /[。！？!?…]$/.test(t) ? t : `${t}。`;
  return /[.!?…]$/.test(t) ? t : `${t}.`;
}

/** Section titles sit inside 「」 or a sentence: trailing punctuation would double up. */
function bareTitle(t: string): string {
  return t.replace(/[.。!！?？:：;；,，]+$/u, '');
}

/** Deterministic pick that never repeats the previous pick of the same list. */
function pick(list: string[], seed: number): string {
  return list[((seed % list.length) + list.length) % list.length]!;
}

export function openingLine(language: string, style: ScriptStyle, title: string | null | undefined): string {
  const bank = bankFor(language, style);
  const t = cleanTitle(title);
  return t ? bank.opening.replace('{title}', asSentenceTitle(t, isChinese(language))) : bank.openingUntitled;
}

export function closingLine(language: string, style: ScriptStyle): string {
  return bankFor(language, style).closing;
}

export function sectionIntroLine(language: string, style: ScriptStyle, title: string, sectionIndex: number): string {
  return pick(bankFor(language, style).sectionIntro, sectionIndex).replace('{title}', bareTitle(cleanTitle(title) ?? title));
}

/**
 * The host's line after the guest's turn `turnIndex` of section `sectionIndex`. It depends only
 * on that position, so lengthening or shortening a script elsewhere never changes it (and the
 * line's audio is reused).
 */
export function followUpLine(language: string, style: ScriptStyle, sectionIndex: number, turnIndex: number): string {
  const list = bankFor(language, style).followUp;
  // Consecutive turns step through the list; sections start at different places in it.
  return pick(list, sectionIndex * 3 + turnIndex);
}
