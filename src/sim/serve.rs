//! Shells that put the emulator where host code looks for an adapter: a pseudo-terminal
//! (USB/Bluetooth serial adapters) or a TCP port (WiFi adapters listen on 35000).
//!
//! One emulator (and one vehicle) lives as long as the server, as one dongle would: a host
//! that closes the port and opens it again finds the settings and cleared codes as it left
//! them. Bytes are handled in arrival order; each answer's chunks are written after their
//! delays before more input is read, which is how a host that waits for `>` sees a real chip.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Chunk, Elm327Emulator, SimError, SimSettings};

/// A running pseudo-terminal adapter. Dropping it stops serving and removes the link.
#[derive(Debug)]
pub struct PtyServer {
    device: PathBuf,
    link: Option<PathBuf>,
    task: JoinHandle<()>,
}

impl PtyServer {
    /// Where a host should open the adapter: the link if one was asked for, else the device.
    pub fn path(&self) -> &Path {
        self.link.as_deref().unwrap_or(&self.device)
    }

    /// The pseudo-terminal device itself (`/dev/pts/N`).
    pub fn device(&self) -> &Path {
        &self.device
    }

    pub fn shutdown(self) {}
}

impl Drop for PtyServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(link) = &self.link
            && is_symlink(link)
        {
            let _ = std::fs::remove_file(link);
        }
    }
}

fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// Opens a pseudo-terminal in raw mode (so CR reaches the emulator as CR), optionally links
/// `link` to its device, and serves the emulator on it until the handle is dropped.
pub async fn serve_pty(settings: SimSettings, link: Option<&Path>) -> Result<PtyServer, SimError> {
    let pty = nix::pty::openpty(None, None).map_err(SimError::Pty)?;
    let mut termios = tcgetattr(&pty.slave).map_err(SimError::Pty)?;
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).map_err(SimError::Pty)?;
    let device = nix::unistd::ttyname(&pty.slave).map_err(SimError::Pty)?;
    let flags = fcntl(&pty.master, FcntlArg::F_GETFL).map_err(SimError::Pty)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(&pty.master, FcntlArg::F_SETFL(flags)).map_err(SimError::Pty)?;
    let link = match link {
        Some(link) => {
            // A stale link from an earlier run would block the new one; anything that is
            // not a link is left alone and reported.
            if is_symlink(link) {
                let _ = std::fs::remove_file(link);
            }
            std::os::unix::fs::symlink(&device, link).map_err(|source| SimError::Link {
                path: link.to_path_buf(),
                source,
            })?;
            Some(link.to_path_buf())
        }
        None => None,
    };
    // SAFETY: the OwnedFd is a valid, non-blocking descriptor that the AsyncFd owns and
    // nothing else closes or replaces while it is registered.
    let master = unsafe { AsyncFd::register(pty.master) }.map_err(std::io::Error::from)?;
    let emulator = settings.emulator();
    let task = tokio::spawn(run_pty(master, pty.slave, emulator));
    Ok(PtyServer { device, link, task })
}

async fn read_master(master: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        let mut guard = master.readable().await?;
        match guard.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(std::io::Error::from))
        {
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

async fn write_master(master: &AsyncFd<OwnedFd>, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let mut guard = master.writable().await?;
        match guard
            .try_io(|fd| nix::unistd::write(fd.get_ref(), bytes).map_err(std::io::Error::from))
        {
            Ok(Ok(n)) => bytes = &bytes[n..],
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
    Ok(())
}

/// `slave` stays open here so that the master never sees the hang-up (EIO) of a host closing
/// its end: the next open just carries on.
async fn run_pty(master: AsyncFd<OwnedFd>, slave: OwnedFd, mut emulator: Elm327Emulator) {
    let _keep_open = slave;
    let start = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        let n = match read_master(&master, &mut buf).await {
            Ok(n) if n > 0 => n,
            Ok(_) | Err(_) => {
                // Nobody on the other end right now; look again shortly.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        for Chunk { delay, bytes } in emulator.feed(&buf[..n], start.elapsed()) {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if write_master(&master, &bytes).await.is_err() {
                break;
            }
        }
    }
}

/// A running TCP adapter. Dropping it stops listening.
#[derive(Debug)]
pub struct TcpServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TcpServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn shutdown(self) {}
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `addr` (port 35000 is what WiFi adapters use; 0 picks a free port). Clients are
/// served one at a time, as the adapters do; a later client waits until the earlier leaves.
/// Serial transmission time does not apply to TCP, whatever `settings.baud` says.
pub async fn serve_tcp(settings: SimSettings, addr: SocketAddr) -> Result<TcpServer, SimError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    let emulator = SimSettings {
        baud: None,
        ..settings
    }
    .emulator();
    let task = tokio::spawn(async move {
        let mut emulator = emulator;
        let start = Instant::now();
        loop {
            let Ok((stream, _peer)) = listener.accept().await else {
                // Out of descriptors or similar: back off rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let _ = serve_stream(stream, &mut emulator, start).await;
        }
    });
    Ok(TcpServer { addr: local, task })
}

async fn serve_stream(
    mut stream: TcpStream,
    emulator: &mut Elm327Emulator,
    start: Instant,
) -> std::io::Result<()> {
    let mut buf = [0u8; 512];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        for Chunk { delay, bytes } in emulator.feed(&buf[..n], start.elapsed()) {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            stream.write_all(&bytes).await?;
        }
    }
}
