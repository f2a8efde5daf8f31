//! Splits the adapter's byte stream into responses at the `>` prompt.
//!
//! The ELM327 ends every response with `>` and then waits for a command, so the prompt is
//! the only reliable frame boundary. Adapters and their radio links also emit things that are
//! not text: NUL bytes (the datasheet says some clones send them before the prompt), noise
//! at the wrong baud rate, a reset banner after a brown-out. The framer keeps only printable
//! ASCII and line ends, and bounds its buffer so a stream without prompts cannot grow memory.

/// Largest response kept. A full CAN buffer dump (`BUFFER FULL`) is about 4 KiB of text;
/// anything longer without a prompt is noise, not an answer.
pub const MAX_RESPONSE: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct Framer {
    /// Text since the last prompt, printable ASCII and CR/LF only.
    buffer: String,
    /// Bytes discarded since the last complete response (non-text or overflow), so the
    /// caller can tell a noisy link from a clean one.
    discarded: usize,
}

/// One response: everything the adapter printed before a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub text: String,
    /// Bytes dropped while this response was collected.
    pub discarded: usize,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes as they arrive and returns the responses they complete, oldest first.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<RawResponse> {
        let mut done = Vec::new();
        for &byte in bytes {
            match byte {
                b'>' => done.push(RawResponse {
                    text: std::mem::take(&mut self.buffer),
                    discarded: std::mem::take(&mut self.discarded),
                }),
                b'\r' | b'\n' | 0x20..=0x7E => {
                    if self.buffer.len() >= MAX_RESPONSE {
                        self.discarded += self.buffer.len();
                        self.buffer.clear();
                    }
                    self.buffer.push(char::from(byte));
                }
                _ => self.discarded += 1,
            }
        }
        done
    }

    /// Text received after the last prompt (a response still in progress).
    pub fn pending(&self) -> &str {
        &self.buffer
    }

    /// Forgets everything not yet framed, e.g. before a fresh command after a timeout.
    pub fn clear(&mut self) {
        self.buffer.clear();
        self.discarded = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_prompts_across_chunks() {
        let mut framer = Framer::new();
        assert!(framer.push(b"41 0C 1A").is_empty());
        let done = framer.push(b" F8\r\r>OK\r\r>");
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].text, "41 0C 1A F8\r\r");
        assert_eq!(done[1].text, "OK\r\r");
        assert_eq!(framer.pending(), "");
    }

    #[test]
    fn drops_nul_and_noise_but_counts_it() {
        let mut framer = Framer::new();
        let done = framer.push(b"\x00\xff4\x801 00\r>");
        assert_eq!(done[0].text, "41 00\r");
        assert_eq!(done[0].discarded, 3);
    }

    #[test]
    fn a_stream_without_prompt_stays_bounded() {
        let mut framer = Framer::new();
        for _ in 0..100 {
            assert!(framer.push(&[b'A'; 1000]).is_empty());
        }
        assert!(framer.pending().len() <= MAX_RESPONSE);
        let done = framer.push(b">");
        assert!(done[0].discarded > 0);
    }
}
