import { replyLines } from './reply-body';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('replyLines', () => {
  it('makes one message per CRLF-separated non-blank line', () => {
    expect(replyLines(b('Thanks!\r\nYour code: 42\r\n\r\n  \r\n'), 'text/plain; charset=utf-8', false, 20)).toEqual({ lines: ['Thanks!', 'Your code: 42'], problem: null });
    expect(replyLines(b('one\ntwo'), null, false, 20).lines).toEqual(['one', 'two']);
  });

  it('sends nothing for an empty body or another content type', () => {
    expect(replyLines(b(''), 'text/plain', false, 20)).toEqual({ lines: [], problem: null });
    expect(replyLines(null, 'text/plain', false, 20)).toEqual({ lines: [], problem: null });
    expect(replyLines(b('<html>OK</html>'), 'text/html', false, 20).lines).toEqual([]);
  });

  it('decodes the declared charset and refuses invalid bytes', () => {
    const cp1251 = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]); // "Привет"
    expect(replyLines(cp1251, 'text/plain; charset=windows-1251', false, 20).lines).toEqual(['Привет']);
    expect(replyLines(Buffer.from([0xff, 0xfe, 0x41]), 'text/plain', false, 20).problem).toMatch(/not valid utf-8/);
  });

  it('drops a line cut by the body limit, caps the number of lines and their length', () => {
    expect(replyLines(b('complete\r\ncut he'), 'text/plain', true, 20).lines).toEqual(['complete']);
    const many = replyLines(b('a\nb\nc'), 'text/plain', false, 2);
    expect(many.lines).toEqual(['a', 'b']);
    expect(many.problem).toMatch(/only the first 2/);
    expect(Array.from(replyLines(b('я'.repeat(2500)), 'text/plain', false, 20).lines[0] as string)).toHaveLength(2000);
  });
});
