import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { call, registerUser } from '../helpers/api';
import { imageOnlyPdf, makeDocx, makePdf, uploadDocument } from '../helpers/documents';
import { startTestStack, type TestStack } from '../helpers/stack';

const MB = 1024 * 1024;

describe('POST /v1/uploads (documents as podcast sources)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    // No worker: these requests are answered by the API alone.
    stack = await startTestStack({}, { worker: false });
  });

  const storedFile = (userId: string, uploadId: string) => path.join(stack.storageDir, 'uploads', userId, uploadId);

  it('stores a PDF and answers what it holds: size, characters and the start of its text', async () => {
    const { token, user } = await registerUser(stack, 'upload-pdf');
    const pdf = await makePdf([['Bees make honey from the nectar of flowers.', 'A hive can hold fifty thousand bees.']], { footer: (n) => String(n) });
    const before = Date.now();
    const res = await uploadDocument(stack, token, { name: '蜜蜂 report.pdf', bytes: pdf, type: 'application/pdf' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const text = 'Bees make honey from the nectar of flowers. A hive can hold fifty thousand bees.';
    assert.deepEqual(
      { ...res.body, id: undefined, createdAt: undefined, expiresAt: undefined },
      {
        id: undefined,
        filename: '蜜蜂 report.pdf',
        contentType: 'application/pdf',
        bytes: pdf.length,
        characters: text.length,
        preview: text,
        createdAt: undefined,
        expiresAt: undefined,
      },
    );
    const expiresIn = Date.parse(res.body.expiresAt) - before;
    assert.ok(Math.abs(expiresIn - 24 * 3600_000) < 60_000, `expires in 24 h, not ${expiresIn} ms`);
    assert.deepEqual(fs.readFileSync(storedFile(user.id, res.body.id)), pdf, 'the original bytes are kept under uploads/<user>/<id>');
    const row = await stack.knex('uploads').where({ id: res.body.id }).first();
    assert.equal(row?.user_id, user.id);
    assert.equal(row?.used_at, null);
  });

  it('previews the first 500 characters of a DOCX, headings as Markdown headings', async () => {
    const { token } = await registerUser(stack, 'upload-docx');
    const long = 'Honey keeps for years because it holds little water. '.repeat(20).trim();
    const docx = await makeDocx([{ title: 'Honey' }, { heading: 2, text: 'Why it keeps' }, { text: long }]);
    const res = await uploadDocument(stack, token, { name: 'honey.docx', bytes: docx });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.contentType, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    const text = `# Honey\n\n## Why it keeps\n\n${long}`;
    assert.equal(res.body.characters, text.length);
    assert.equal(res.body.preview, text.slice(0, 500));
  });

  it('takes Markdown and plain text', async () => {
    const { token } = await registerUser(stack, 'upload-text');
    const md = await uploadDocument(stack, token, { name: 'notes.md', bytes: Buffer.from('Notes\n=====\n\nBees *dance*.') });
    assert.equal(md.status, 201, JSON.stringify(md.body));
    assert.deepEqual([md.body.contentType, md.body.preview], ['text/markdown', '# Notes\n\nBees dance.']);
    const txt = await uploadDocument(stack, token, { name: 'notes.txt', bytes: Buffer.from('Bees dance\nto show the way.'), type: 'text/plain' });
    assert.equal(txt.status, 201, JSON.stringify(txt.body));
    assert.deepEqual([txt.body.contentType, txt.body.preview], ['text/plain', 'Bees dance to show the way.']);
  });

  it('refuses other files, and documents with no text, with 400 VALIDATION_FAILED and stores nothing', async () => {
    const { token, user } = await registerUser(stack, 'upload-refused');
    const exe = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00', 'latin1'), Buffer.alloc(2000)]);
    const zip = Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00', 'latin1'), Buffer.alloc(200, 1)]);
    const cases = [
      { name: 'setup.exe', bytes: exe, type: 'application/x-msdownload', message: /PDF.*Word.*Markdown.*plain-text/ },
      { name: 'photos.zip', bytes: zip, type: 'application/zip', message: /PDF.*Word.*Markdown.*plain-text/ },
      { name: 'fake.docx', bytes: zip, message: /could not be read as a Word document/ },
      { name: 'scan.pdf', bytes: await imageOnlyPdf(), type: 'application/pdf', message: /no text layer/ },
      { name: 'empty.txt', bytes: Buffer.alloc(0), message: /no text/ },
    ];
    for (const c of cases) {
      const res = await uploadDocument(stack, token, c);
      assert.equal(res.status, 400, `${c.name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, c.message, c.name);
    }
    assert.equal((await stack.knex('uploads').where({ user_id: user.id })).length, 0);
    assert.ok(!fs.existsSync(path.join(stack.storageDir, 'uploads', user.id)), 'no file is kept');
  });

  it('wants one file in the field "file" of a multipart form, from a signed-in caller', async () => {
    const { token } = await registerUser(stack, 'upload-form');
    const bytes = Buffer.from('Some text.');
    const wrongField = await uploadDocument(stack, token, { name: 'a.txt', bytes }, 'document');
    assert.equal(wrongField.status, 400);
    assert.equal(wrongField.body.error.code, 'VALIDATION_FAILED');
    const json = await call(stack.url, 'POST', '/v1/uploads', { token, body: { file: 'Some text.' } });
    assert.equal(json.status, 400);
    assert.match(json.body.error.message, /multipart\/form-data/);
    const form = new FormData();
    form.append('note', 'no file here');
    const noFile = await fetch(`${stack.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    assert.equal(noFile.status, 400);
    const anonymous = await fetch(`${stack.url}/v1/uploads`, { method: 'POST', body: new FormData() });
    assert.equal(anonymous.status, 401);
  });

  it('answers 413 over 20 MB, by the declared length and while a body of unknown length streams in', async () => {
    const { token, user } = await registerUser(stack, 'upload-large');
    const declared = await uploadDocument(stack, token, { name: 'big.txt', bytes: Buffer.alloc(20 * MB + 1, 'a') });
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error.code, 'PAYLOAD_TOO_LARGE');

    // Chunked, with no length: 21 MB of a file, then the body never ends. Only a server that
    // counts while it reads can answer, and it must answer before the body is over.
    const boundary = 'aimake-test-boundary';
    let sent = 0;
    const chunk = Buffer.alloc(256 * 1024, 'a');
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0)
          controller.enqueue(
            Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`),
          );
        if (sent > 21 * MB) return new Promise<void>(() => undefined);
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const streamed = await fetch(`${stack.url}/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
      signal: AbortSignal.timeout(20_000),
    } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal((await streamed.json()).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal((await stack.knex('uploads').where({ user_id: user.id })).length, 0);
  });

  it('lets a podcast use only an upload of its own that has not expired (404 otherwise)', async () => {
    const owner = await registerUser(stack, 'upload-owner');
    const other = await registerUser(stack, 'upload-other');
    const up = await uploadDocument(stack, owner.token, { name: 'a.txt', bytes: Buffer.from('Bees dance to show the way to flowers.') });
    assert.equal(up.status, 201);
    const podcast = (token: string, sourceContent: string) =>
      call(stack.url, 'POST', '/v1/podcasts', {
        token,
        body: { sourceType: 'file', sourceContent, targetDuration: 60, hostVoiceId: 'local-en-female', guestVoiceId: 'local-en-male' },
      });

    const stolen = await podcast(other.token, up.body.id);
    assert.equal(stolen.status, 404, JSON.stringify(stolen.body));
    assert.equal(stolen.body.error.code, 'NOT_FOUND');
    assert.equal((await podcast(owner.token, '6f1c1a52-1b7e-4c3f-9d55-2a1c0f3b9e11')).status, 404);
    const notAnId = await podcast(owner.token, 'report.pdf');
    assert.equal(notAnId.status, 400);
    assert.equal(notAnId.body.error.code, 'VALIDATION_FAILED');

    await stack
      .knex('uploads')
      .where({ id: up.body.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const expired = await podcast(owner.token, up.body.id);
    assert.equal(expired.status, 404);
    assert.match(expired.body.error.message, /expired/);
    assert.equal((await stack.knex('podcasts').where({ user_id: owner.user.id })).length, 0, 'no podcast was created');
    const row = await stack.knex('uploads').where({ id: up.body.id }).first();
    assert.equal(row?.used_at, null, 'a refused request does not mark the upload used');
  });

  it('is in the OpenAPI document, and so is the file source type', async () => {
    const doc = (await call(stack.url, 'GET', '/openapi.json')).body;
    const op = doc.paths['/v1/uploads'].post;
    assert.deepEqual(op.requestBody.content['multipart/form-data'].schema.required, ['file']);
    assert.ok(op.responses['201'].content['application/json'].schema.properties.preview);
    assert.ok(op.responses['413']);
    // Request bodies are named components.
    const ref: string = doc.paths['/v1/podcasts'].post.requestBody.content['application/json'].schema.$ref;
    const create = doc.components.schemas[ref.replace('#/components/schemas/', '')];
    assert.ok(create.properties.sourceType.enum.includes('file'));
  });
});
