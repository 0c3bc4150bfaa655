// Parse TwiML into a comparable tree, and the golden documents (shared/reference/twiml-examples.md).
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

// -> { name, attrs: {…}, children: [node | { text }] }; whitespace-only text dropped.
function convert(list) {
  const out = [];
  for (const item of list) {
    const attrs = item[':@'] ?? {};
    for (const [k, v] of Object.entries(item)) {
      if (k === ':@' || k.startsWith('?') || k === '#comment') continue;
      if (k === '#text') {
        const text = String(v).trim();
        if (text !== '') out.push({ text });
        continue;
      }
      out.push({ name: k, attrs: { ...attrs }, children: convert(v) });
    }
  }
  return out;
}

/** Parse a TwiML document; asserts it is well-formed and has exactly one root <Response>. */
export function parseTwiml(xml) {
  const v = XMLValidator.validate(xml);
  assert.equal(v, true, `not well-formed XML: ${JSON.stringify(v)}\n${xml}`);
  const roots = convert(parser.parse(xml));
  assert.equal(roots.length, 1, `expected one root element:\n${xml}`);
  assert.equal(roots[0].name, 'Response', `root must be <Response>:\n${xml}`);
  return roots[0];
}

/** Assert that two TwiML documents are equivalent (names, attribute sets, texts, order of children). */
export function assertSameTwiml(actualXml, expectedXml, msg = '') {
  const a = parseTwiml(actualXml);
  const e = parseTwiml(expectedXml);
  assert.deepStrictEqual(a, e, `${msg}\n--- actual:\n${actualXml}\n--- expected:\n${expectedXml}`);
}

/** All elements named `name` anywhere in the tree. */
export function findAll(node, name, acc = []) {
  if (node.name === name) acc.push(node);
  for (const c of node.children ?? []) if (c.name) findAll(c, name, acc);
  return acc;
}

export function textOf(node) {
  return (node.children ?? []).filter((c) => 'text' in c).map((c) => c.text).join('');
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export const CONSENT_SAY = 'This call is recorded. By continuing, you consent to recording.';

function conference(B, extra = '') {
  return `<Dial>
    <Conference
      beep="onEnter"
      maxParticipants="15"
      record="record-from-start"
      statusCallback="${esc(B)}/conf-status"
      statusCallbackEvent="start end join leave mute hold"
      recordingStatusCallback="${esc(B)}/recording-callback"
      recordingStatusCallbackEvent="completed"
      waitUrl="silence"${extra}>partyline</Conference>
  </Dial>`;
}

// B = PUBLIC_BASE_URL (no trailing slash). Callbacks and actions are absolute.
export const golden = {
  // Block 1
  voiceNoPin: (B) => `<Response>
  <Say>${CONSENT_SAY}</Say>
  ${conference(B)}
</Response>`,
  // Block 2
  voicePinGate: (B) => `<Response>
  <Say>${CONSENT_SAY}</Say>
  <Gather input="dtmf" timeout="6" numDigits="4" action="${esc(B)}/check-pin">
    <Say>Enter your four digit PIN, then press pound.</Say>
  </Gather>
  <Say>No input received. Goodbye.</Say>
  <Hangup/>
</Response>`,
  // Block 3
  producer: (B) => `<Response>
  <Say>Joining as a producer, you are muted on entry.</Say>
  ${conference(B, ' muted="true"')}
</Response>`,
  // Block 5
  speaker: (B) => `<Response>
  <Say>Joining as a speaker.</Say>
  ${conference(B)}
</Response>`,
  // Block 6
  invalidPin: () => `<Response>
  <Say>Sorry, that PIN is not valid. Goodbye.</Say>
  <Hangup/>
</Response>`,
  // Block 7, first document
  consentGate: (B) => `<Response>
  <Gather input="dtmf" numDigits="1" timeout="8" action="${esc(B)}/consent">
    <Say>This call is recorded. To consent to recording and join, press 1.</Say>
  </Gather>
  <Say>No consent received. Goodbye.</Say>
  <Hangup/>
</Response>`,
  // Block 7, second document
  consentThenPin: (B) => `<Response>
  <Gather input="dtmf" timeout="6" numDigits="4" action="${esc(B)}/check-pin">
    <Say>Thank you. Enter your four digit PIN.</Say>
  </Gather>
  <Say>No input received. Goodbye.</Say>
  <Hangup/>
</Response>`,
  // Block 7, third document
  noConsent: () => `<Response>
  <Say>You did not consent to recording, so you cannot join this call. Goodbye.</Say>
  <Hangup/>
</Response>`,
  conferenceOnly: (B) => `<Response>${conference(B)}</Response>`,
};
