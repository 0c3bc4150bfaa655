// An S3 client for checking what the service stored (AWS SDK v3 against the loopback Swift).
import {
  S3Client, CreateBucketCommand, ListObjectsV2Command, HeadObjectCommand, GetObjectCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { waitFor } from './server.mjs';

export const S3_ACCESS_KEY_ID = 'test:tester';
export const S3_SECRET = 'testing';
export const S3_REGION = 'us-east-1';

export function s3Client(endpoint, { secret = S3_SECRET } = {}) {
  return new S3Client({
    region: S3_REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: secret },
    maxAttempts: 1,
  });
}

export async function createBucket(client, Bucket) {
  await client.send(new CreateBucketCommand({ Bucket }));
}

/** Every key under `prefix` (follows continuation tokens). */
export async function listKeys(client, Bucket, prefix) {
  const keys = [];
  let ContinuationToken;
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken }));
    for (const o of r.Contents ?? []) keys.push(o.Key);
    ContinuationToken = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}

/** The keys of multipart uploads under `prefix` that were started and neither completed nor aborted. */
export async function listUploads(client, Bucket, prefix) {
  const r = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: prefix }));
  return (r.Uploads ?? []).map((u) => u.Key);
}

/** HeadObject, or null on 404. */
export async function headObject(client, Bucket, Key) {
  try {
    return await client.send(new HeadObjectCommand({ Bucket, Key }));
  } catch (e) {
    if (e?.$metadata?.httpStatusCode === 404) return null;
    throw e;
  }
}

export async function getBytes(client, Bucket, Key) {
  const r = await client.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await r.Body.transformToByteArray());
}

/** Recording objects only: each stored recording also has its JSON report next to it (key.json). */
export async function listRecordingKeys(client, bucket, prefix) {
  return (await listKeys(client, bucket, prefix)).filter((k) => !k.endsWith('.json'));
}

/**
 * Polls `list()` (e.g. () => listKeys(client, bucket, prefix)) until `ready(keys)` holds; returns
 * that listing. Swift's container listing follows a stored or deleted object a little later (the
 * object server waits at most 1 s for the container update, which finishes in the background), so
 * a listing right after a store or a delete can lag behind it.
 */
export function waitForListing(list, ready, { timeout = 10000, what = 'the bucket listing' } = {}) {
  return waitFor(async () => {
    const keys = await list();
    return ready(keys) ? keys : null;
  }, { timeout, interval: 50, what });
}
