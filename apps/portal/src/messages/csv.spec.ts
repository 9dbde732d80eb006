import { csvField, csvLine } from './csv';

describe('CSV export fields', () => {
  it('quotes separators, quotes and line breaks', () => {
    expect(csvLine(['a,b', 'say "hi"', 'two\nlines', 5, null])).toBe('"a,b","say ""hi""","two\nlines",5,\r\n');
  });
  it('defuses spreadsheet formulas but keeps negative numbers', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-12')).toBe('-12');
    expect(csvField('@cmd')).toBe("'@cmd");
  });
  it('writes times as ISO 8601 UTC', () => {
    expect(csvField(new Date('2026-11-25T10:00:00.000Z'))).toBe('2026-11-25T10:00:00.000Z');
  });
});
