import { reportWanted } from './dlr.service';

describe('reportWanted: a submit_sm\'s registered_delivery', () => {
  it.each([
    // registered_delivery, status, wanted
    [null, 0, true],
    [null, 2, true],
    [null, 5, true],
    [0, 2, false],
    [0, 5, false],
    [1, 2, true],
    [1, 5, true],
    [1, 0, false],
    [2, 2, false],
    [2, 5, true],
    [0x11, 0, true],
    [0x11, 2, true],
    [0x12, 0, true],
    [0x12, 2, false],
    [0x10, 5, false],
  ])('registered_delivery %p, status %p: %p', (rd, status, wanted) => {
    expect(reportWanted(rd, status)).toBe(wanted);
  });
});
