//! Counting what crosses the serial line: a wrapper for our link, and a counting relay
//! between a second pseudo-terminal and the simulator's for a tool in another process.

use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll, ready};

use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;

/// Bytes sent to the adapter, bytes received from it, and commands sent (CRs: every command
/// ends with one, and a lone CR repeats the last).
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<(AtomicU64, AtomicU64, AtomicU64)>);

impl Counter {
    pub fn get(&self) -> (u64, u64, u64) {
        (
            self.0.0.load(Relaxed),
            self.0.1.load(Relaxed),
            self.0.2.load(Relaxed),
        )
    }

    pub fn reset(&self) {
        self.0.0.store(0, Relaxed);
        self.0.1.store(0, Relaxed);
        self.0.2.store(0, Relaxed);
    }
}

/// A link that counts the bytes through it, host side: writes go to the adapter.
pub struct Counted<L> {
    inner: L,
    counter: Counter,
}

impl<L> Counted<L> {
    pub fn new(inner: L, counter: Counter) -> Self {
        Counted { inner, counter }
    }
}

impl<L: AsyncRead + Unpin> AsyncRead for Counted<L> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let n = (buf.filled().len() - before) as u64;
        self.counter.0.1.fetch_add(n, Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl<L: AsyncWrite + Unpin> AsyncWrite for Counted<L> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        self.counter.0.0.fetch_add(n as u64, Relaxed);
        let commands = buf[..n].iter().filter(|b| **b == b'\r').count();
        self.counter.0.2.fetch_add(commands as u64, Relaxed);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The master side of a pseudo-terminal as an async byte stream.
struct Master {
    fd: AsyncFd<OwnedFd>,
    /// Kept open so the master never reads EIO while the other process reopens the slave.
    _slave: OwnedFd,
}

impl AsyncRead for Master {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| {
                nix::unistd::read(fd.get_ref(), unfilled).map_err(std::io::Error::from)
            }) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Master {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard
                .try_io(|fd| nix::unistd::write(fd.get_ref(), buf).map_err(std::io::Error::from))
            {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A pseudo-terminal for another process, relayed to the adapter at `adapter` with every byte
/// counted. Returns the path to give the other process and the relay task.
pub async fn counting_relay(adapter: &str, counter: Counter) -> (String, JoinHandle<()>) {
    let pty = nix::pty::openpty(None, None).expect("a pty for the relay");
    let mut termios = tcgetattr(&pty.slave).expect("termios");
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).expect("raw mode");
    let path = nix::unistd::ttyname(&pty.slave).expect("pty name");
    let flags = nix::fcntl::fcntl(&pty.master, nix::fcntl::FcntlArg::F_GETFL).expect("flags");
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(&pty.master, nix::fcntl::FcntlArg::F_SETFL(flags)).expect("non-blocking");
    // SAFETY: the OwnedFd is a valid, non-blocking descriptor that the AsyncFd owns and
    // nothing else closes or replaces while it is registered.
    let fd = unsafe { AsyncFd::register(pty.master) }.expect("register the pty");
    let mut master = Master {
        fd,
        _slave: pty.slave,
    };
    let spec = obd_agent::transport::elm327::link::PortSpec::parse(adapter);
    let link = obd_agent::transport::elm327::link::Link::open(&spec, super::BAUD)
        .await
        .expect("open the simulator's pty");
    let mut adapter = Counted::new(link, counter);
    let task = tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional(&mut adapter, &mut master).await;
    });
    (path.to_string_lossy().into_owned(), task)
}
