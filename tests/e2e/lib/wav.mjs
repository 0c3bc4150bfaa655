// A playable WAV made in the test: PCM 16-bit mono, a sine tone of `seconds`.
export function sineWav(seconds = 3.0, rate = 8000, hz = 440) {
  const samples = Math.round(seconds * rate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);         // fmt chunk size
  wav.writeUInt16LE(1, 20);          // PCM
  wav.writeUInt16LE(1, 22);          // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);   // bytes per second
  wav.writeUInt16LE(2, 32);          // bytes per frame
  wav.writeUInt16LE(16, 34);         // bits per sample
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    wav.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + 2 * i);
  }
  return wav;
}
