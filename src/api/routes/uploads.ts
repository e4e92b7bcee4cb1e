import { z } from 'zod';
import type { UploadService } from '../../services/uploads';
import { receiveFile } from '../multipart';
import { route } from '../route';
import { uploadView } from '../views';

const UploadOut = z.object({
  id: z.uuid(),
  filename: z.string(),
  contentType: z.string(),
  bytes: z.number().int(),
  characters: z.number().int(),
  preview: z.string().describe('The first 500 characters of the text a podcast would be made from'),
  createdAt: z.string(),
  expiresAt: z.string().nullable().describe('When the upload is removed unless a podcast uses it first'),
});

export function uploadRoutes(deps: { uploads: UploadService; maxBytes: number }) {
  const mb = Math.round(deps.maxBytes / 1024 / 1024);
  return [
    route({
      method: 'post',
      path: '/v1/uploads',
      operationId: 'createUpload',
      tag: 'uploads',
      scope: 'podcast',
      summary: 'Upload a document (PDF, DOCX, Markdown or plain text) to make a podcast from: then POST /v1/podcasts with sourceType "file"',
      auth: 'required',
      file: { field: 'file', description: `PDF, DOCX, Markdown or plain text, at most ${mb} MB` },
      responses: {
        201: { description: 'Stored; it expires after 24 hours unless a podcast uses it', schema: UploadOut },
        400: { description: 'Not a PDF, DOCX, Markdown or plain-text file, or no text in it (e.g. a scanned PDF)' },
        413: { description: `Larger than ${mb} MB` },
      },
      handler: async (ctx, { auth }) => {
        const { upload, preview } = await receiveFile(ctx, { field: 'file', maxBytes: deps.maxBytes }, (file) => deps.uploads.create(auth!.user, file));
        ctx.status = 201;
        ctx.body = uploadView(upload, preview);
      },
    }),
  ];
}
