/**
 * httpErrorOf / downloadErrorOf (services/web/http-status.ts): the status of
 * each error code, and how a download's report turns "not enough shares"
 * into 502 (all bad data) or 503 (servers missing), "not found" into 503
 * while servers did not answer.
 */
import { describe, expect, it } from 'vitest';
import {
  CapParseError,
  IntegrityError,
  InvalidArgumentError,
  NotEnoughSharesError,
  NotFoundError,
  PreconditionError,
  QuotaError,
  UnavailableError,
} from '../../../libs/errors/index.js';
import { downloadErrorOf, httpErrorOf } from '../../../services/web/http-status.js';

const none = { corrupt: [], unavailable: [] };

describe('httpErrorOf', () => {
  it.each([
    [new InvalidArgumentError('x'), 400],
    [new CapParseError('x'), 400],
    [new NotFoundError('x'), 404],
    [new PreconditionError('x'), 409],
    [new IntegrityError('x'), 502],
    [new UnavailableError('x'), 503],
    [new NotEnoughSharesError('x'), 503],
    [new QuotaError('x'), 507],
    [new Error('boom'), 500],
    ['a string', 500],
  ])('%s → %i', (err, status) => {
    expect(httpErrorOf(err).status).toBe(status);
  });

  it('gives one line, however the message was written', () => {
    const e = httpErrorOf(new InvalidArgumentError('one\n  two\nthree'));
    expect(e.message).toBe('one two three');
    expect(httpErrorOf(new Error('x'.repeat(5000))).message.length).toBeLessThanOrEqual(1000);
  });
});

describe('downloadErrorOf', () => {
  const corrupt = [{ server: 's1', shnum: 0, reason: 'bad block' }];
  const unavailable = [{ server: 's2', reason: 'down' }];

  it('too few good shares, all of the rest corrupt → 502', () => {
    expect(downloadErrorOf(new NotEnoughSharesError('need 3'), { corrupt, unavailable: [] }).status).toBe(502);
  });

  it('too few good shares while servers are missing → 503', () => {
    expect(downloadErrorOf(new NotEnoughSharesError('need 3'), { corrupt, unavailable }).status).toBe(503);
    expect(downloadErrorOf(new NotEnoughSharesError('need 3'), { corrupt: [], unavailable }).status).toBe(503);
    expect(downloadErrorOf(new NotEnoughSharesError('need 3'), none).status).toBe(503);
  });

  it('not found: 404 when every server answered, 503 while some did not', () => {
    expect(downloadErrorOf(new NotFoundError('no shares'), none).status).toBe(404);
    const e = downloadErrorOf(new NotFoundError('no shares'), { corrupt: [], unavailable });
    expect(e.status).toBe(503);
    expect(e.message).toMatch(/no shares.*did not answer/);
  });

  it('other errors keep their status', () => {
    expect(downloadErrorOf(new IntegrityError('x'), { corrupt, unavailable }).status).toBe(502);
    expect(downloadErrorOf(new InvalidArgumentError('x'), { corrupt, unavailable }).status).toBe(400);
  });
});
