//! One command, one answer: writes a command and reads until the prompt, within a deadline.

use std::io::ErrorKind;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use crate::elm327::framer::{Framer, RawResponse};
use crate::transport::TransportError;

/// Longest time spent bringing the adapter back to an idle prompt.
const ABORT_GRACE: Duration = Duration::from_millis(1500);
/// Silence that means the adapter has finished talking.
const SETTLE_QUIET: Duration = Duration::from_millis(150);
/// Upper bound on stale bytes drained before a command, so a babbling link cannot stall us.
const MAX_STALE_READS: usize = 64;

pub struct Session<L> {
    link: L,
    framer: Framer,
    buf: Box<[u8; 4096]>,
    /// Bytes of noise and stale answers thrown away so far; a rising count means a bad link.
    pub discarded: usize,
}

fn io_error(error: std::io::Error) -> TransportError {
    match error.kind() {
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof => {
            TransportError::Disconnected
        }
        // A pty or USB serial device whose other end went away reports EIO.
        _ if error.raw_os_error() == Some(5) => TransportError::Disconnected,
        _ => TransportError::Io(error),
    }
}

impl<L: AsyncRead + AsyncWrite + Unpin> Session<L> {
    pub fn new(link: L) -> Self {
        Session {
            link,
            framer: Framer::new(),
            buf: Box::new([0; 4096]),
            discarded: 0,
        }
    }

    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    /// Sends `command` (CR appended) and returns the text up to the next prompt.
    pub async fn command(
        &mut self,
        command: &str,
        timeout: Duration,
    ) -> Result<RawResponse, TransportError> {
        self.drain_stale().await?;
        tracing::trace!(command, "sending");
        let mut line = Vec::with_capacity(command.len() + 1);
        line.extend_from_slice(command.as_bytes());
        line.push(b'\r');
        self.link.write_all(&line).await.map_err(io_error)?;
        self.link.flush().await.map_err(io_error)?;
        match self.read_response(Instant::now() + timeout).await {
            Ok(Some(response)) => Ok(response),
            Ok(None) => {
                self.abort().await;
                Err(TransportError::Timeout {
                    what: command.to_string(),
                    after: timeout,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Reads until a prompt; `None` when the deadline passes first.
    async fn read_response(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<RawResponse>, TransportError> {
        loop {
            let read = tokio::time::timeout_at(deadline, self.link.read(&mut self.buf[..])).await;
            let n = match read {
                Err(_) => return Ok(None),
                Ok(Ok(0)) => return Err(TransportError::Disconnected),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(io_error(e)),
            };
            let mut done = self.framer.push(&self.buf[..n]);
            // The ELM327 prints something before every prompt (an answer, `OK`, `?`, a
            // status), so a prompt with nothing before it is a `>` byte in line noise: the
            // real answer is still to come.
            done.retain(|r| {
                let stray = r.text.trim().is_empty();
                if stray {
                    self.discarded += r.discarded + 1;
                }
                !stray
            });
            // More than one prompt means answers to earlier, abandoned commands arrived late.
            if let Some(last) = done.pop() {
                tracing::trace!(answer = %last.text.escape_debug(), "received");
                self.discarded += done.iter().map(|r| r.text.len()).sum::<usize>() + last.discarded;
                return Ok(Some(last));
            }
        }
    }

    /// Reads what has already arrived, `None` when nothing has. A zero timeout would do the
    /// same through the timer wheel, whose millisecond ticks cost up to a millisecond per
    /// request on a fast link.
    async fn read_ready(&mut self) -> Option<std::io::Result<usize>> {
        let mut buf = ReadBuf::new(&mut self.buf[..]);
        let link = &mut self.link;
        std::future::poll_fn(|cx| match Pin::new(&mut *link).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Ready(None),
            Poll::Ready(result) => Poll::Ready(Some(result)),
        })
        .await
        .map(|result| result.map(|()| buf.filled().len()))
    }

    /// Discards whatever arrived since the last answer (late answers, noise).
    async fn drain_stale(&mut self) -> Result<(), TransportError> {
        for _ in 0..MAX_STALE_READS {
            match self.read_ready().await {
                Some(Ok(0)) => return Err(TransportError::Disconnected),
                Some(Ok(n)) => self.discarded += n,
                Some(Err(e)) => return Err(io_error(e)),
                None => break,
            }
        }
        self.discarded += self.framer.pending().len();
        self.framer.clear();
        Ok(())
    }

    /// Brings the adapter back to an idle prompt, whatever it was doing.
    ///
    /// A lone CR would be simplest, but to an idle ELM327 it means "repeat the last command",
    /// and that command may have been `04` (clear codes) from an earlier session. `ATI` is
    /// harmless in every state: it interrupts a busy adapter (its first character does), is
    /// answered with `?` after leftover input, or with the version when idle. Then wait until
    /// the line has been quiet for a moment, so no late prompt is mistaken for an answer.
    pub async fn abort(&mut self) {
        if self.write_raw(b"ATI\r").await.is_ok() {
            let _ = self.settle(SETTLE_QUIET, ABORT_GRACE).await;
        }
        self.framer.clear();
    }

    /// Waits until the adapter has been quiet for a moment, discarding what it sends: after an
    /// answer out of step with the request, so a late answer is not read as the next one's.
    pub async fn resync(&mut self) -> Result<(), TransportError> {
        let result = self.settle(SETTLE_QUIET, ABORT_GRACE).await;
        self.discarded += self.framer.pending().len();
        self.framer.clear();
        result
    }

    /// Reads and discards until nothing arrived for `quiet`, or `limit` passed.
    async fn settle(&mut self, quiet: Duration, limit: Duration) -> Result<(), TransportError> {
        let end = Instant::now() + limit;
        loop {
            let deadline = (Instant::now() + quiet).min(end);
            match tokio::time::timeout_at(deadline, self.link.read(&mut self.buf[..])).await {
                Err(_) => return Ok(()),
                Ok(Ok(0)) => return Err(TransportError::Disconnected),
                Ok(Ok(n)) => self.discarded += n,
                Ok(Err(e)) => return Err(io_error(e)),
            }
            if Instant::now() >= end {
                return Ok(());
            }
        }
    }

    /// Reads for up to `wait`, returning whatever text arrived (used when probing baud rates,
    /// where a wrong rate yields noise and no prompt).
    pub async fn listen(&mut self, wait: Duration) -> Result<String, TransportError> {
        let deadline = Instant::now() + wait;
        let mut text = String::new();
        loop {
            match tokio::time::timeout_at(deadline, self.link.read(&mut self.buf[..])).await {
                Err(_) => break,
                Ok(Ok(0)) => return Err(TransportError::Disconnected),
                Ok(Ok(n)) => {
                    for response in self.framer.push(&self.buf[..n]) {
                        text.push_str(&response.text);
                        text.push('>');
                    }
                    if text.ends_with('>') {
                        break;
                    }
                }
                Ok(Err(e)) => return Err(io_error(e)),
            }
        }
        text.push_str(self.framer.pending());
        self.framer.clear();
        Ok(text)
    }

    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.link.write_all(bytes).await.map_err(io_error)?;
        self.link.flush().await.map_err(io_error)
    }
}
