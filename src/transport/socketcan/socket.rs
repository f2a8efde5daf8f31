//! A nonblocking raw CAN socket (`PF_CAN`, `SOCK_RAW`, `CAN_RAW`) on tokio's reactor.
//!
//! Plain libc rather than the `socketcan` crate: we need five calls (socket, bind, two
//! setsockopts, read/write of one `struct can_frame`), the crate's tokio support has changed
//! shape between its 2.x, 3.x and 4.x releases, and `AsyncFd` over our own descriptor keeps
//! error handling (ENETDOWN, ENODEV, ENOBUFS) in our hands. The structs are declared here
//! because libc's `can_frame` has private padding fields.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::isotp::{CanFrame, CanId};

const CAN_EFF_FLAG: u32 = 0x8000_0000;
const CAN_RTR_FLAG: u32 = 0x4000_0000;
const CAN_ERR_FLAG: u32 = 0x2000_0000;
const CAN_SFF_MASK: u32 = 0x7FF;
const CAN_EFF_MASK: u32 = 0x1FFF_FFFF;
const SOL_CAN_RAW: libc::c_int = 100 + libc::CAN_RAW;
const CAN_RAW_FILTER: libc::c_int = 1;
const CAN_RAW_ERR_FILTER: libc::c_int = 2;
/// Linux `ARPHRD_CAN`, the link type /sys reports for CAN interfaces.
const ARPHRD_CAN: u32 = 280;
/// How long a full transmit queue (ENOBUFS) may keep a frame from going out. A bus with no
/// other node to acknowledge our frames fills the queue and stays full.
const TX_QUEUE_PATIENCE: Duration = Duration::from_millis(200);

/// `struct can_frame` (linux/can.h).
#[repr(C, align(8))]
#[derive(Default, Clone, Copy)]
struct RawFrame {
    can_id: u32,
    len: u8,
    _pad: [u8; 3],
    data: [u8; 8],
}

/// `struct sockaddr_can`; the address union (16 bytes, 8-aligned) is unused for raw sockets.
#[repr(C)]
#[derive(Default)]
struct SockaddrCan {
    family: libc::sa_family_t,
    ifindex: libc::c_int,
    _addr: [u64; 2],
}

/// `struct can_filter`: a frame passes when `received_id & mask == id & mask`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanFilter {
    id: u32,
    mask: u32,
}

impl CanFilter {
    /// Data frames with exactly this id and format.
    pub fn exact(id: CanId) -> CanFilter {
        CanFilter::masked(id, u32::MAX)
    }

    /// Data frames of this id's format whose id matches on the bits set in `mask`.
    pub fn masked(id: CanId, mask: u32) -> CanFilter {
        // Including the EFF and RTR flags in the mask keeps the other format and remote
        // frames out: 0x7E8 and 0x000007E8 are different ids on the bus.
        let (id, id_mask) = match id {
            CanId::Standard(id) => (u32::from(id) & CAN_SFF_MASK, CAN_SFF_MASK),
            CanId::Extended(id) => ((id & CAN_EFF_MASK) | CAN_EFF_FLAG, CAN_EFF_MASK),
        };
        CanFilter {
            id,
            mask: (mask & id_mask) | CAN_EFF_FLAG | CAN_RTR_FLAG,
        }
    }
}

/// One received data frame; `len` may be below 8 (we are tolerant in what we accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxFrame {
    pub id: CanId,
    len: u8,
    bytes: [u8; 8],
}

impl RxFrame {
    pub fn data(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len.min(8))]
    }
}

/// The kernel's `canid_t`: the format is the EFF flag bit.
fn raw_id(id: CanId) -> u32 {
    match id {
        CanId::Standard(id) => u32::from(id) & CAN_SFF_MASK,
        CanId::Extended(id) => (id & CAN_EFF_MASK) | CAN_EFF_FLAG,
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Facts about an interface from /sys, to explain a failure better than an errno can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfaceState {
    Missing,
    NotCan,
    Down,
    Up,
    /// /sys is not mounted or says something unexpected; let the syscalls decide.
    Unknown,
}

pub fn iface_state(iface: &str) -> IfaceState {
    let dir = std::path::Path::new("/sys/class/net").join(iface);
    if !std::path::Path::new("/sys/class/net").exists() {
        return IfaceState::Unknown;
    }
    if !dir.exists() {
        return IfaceState::Missing;
    }
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    match read("type").and_then(|t| t.parse::<u32>().ok()) {
        Some(ARPHRD_CAN) => {}
        Some(_) => return IfaceState::NotCan,
        None => return IfaceState::Unknown,
    }
    let flags =
        read("flags").and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok());
    match flags {
        Some(f) if f & 1 != 0 => IfaceState::Up,
        Some(_) => IfaceState::Down,
        None => IfaceState::Unknown,
    }
}

/// Error classes of `linux/can/error.h` (the id bits of an error frame).
pub mod error_class {
    pub const TX_TIMEOUT: u32 = 0x001;
    pub const CONTROLLER: u32 = 0x004;
    pub const PROTOCOL: u32 = 0x008;
    pub const NO_ACK: u32 = 0x020;
    pub const BUS_OFF: u32 = 0x040;
    pub const BUS_ERROR: u32 = 0x080;
}

/// A raw CAN socket bound to one interface, registered with the tokio reactor.
#[derive(Debug)]
pub struct CanSocket {
    fd: AsyncFd<OwnedFd>,
    /// Error classes of the error frames received since the last `take_bus_errors` (only
    /// with `set_error_mask`). Atomic so `&CanSocket` futures stay `Send`.
    bus_errors: AtomicU32,
}

impl CanSocket {
    /// Opens and binds the socket; must be called inside a tokio runtime.
    pub fn open(iface: &str) -> io::Result<CanSocket> {
        let name = std::ffi::CString::new(iface)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        let kind = libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: plain syscall; the descriptor is owned right below.
        let raw = check(unsafe { libc::socket(libc::PF_CAN, kind, libc::CAN_RAW) })?;
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let addr = SockaddrCan {
            family: libc::AF_CAN as libc::sa_family_t,
            ifindex: libc::c_int::try_from(index).map_err(io::Error::other)?,
            ..SockaddrCan::default()
        };
        let len = size_of::<SockaddrCan>() as libc::socklen_t;
        // SAFETY: `addr` is a live sockaddr_can of `len` bytes.
        check(unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) })?;
        // SAFETY: the OwnedFd is a valid descriptor that the AsyncFd owns from here on, so it
        // stays open and the same for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(CanSocket {
            fd,
            bus_errors: AtomicU32::new(0),
        })
    }

    /// Lets only frames matching one of `filters` reach this socket (the kernel filters, so
    /// a busy bus costs us nothing). An empty list receives nothing.
    pub fn set_filters(&self, filters: &[CanFilter]) -> io::Result<()> {
        let len = std::mem::size_of_val(filters) as libc::socklen_t;
        // SAFETY: `filters` is a live array of `len` bytes of `struct can_filter`.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                SOL_CAN_RAW,
                CAN_RAW_FILTER,
                filters.as_ptr().cast(),
                len,
            )
        })?;
        Ok(())
    }

    /// Asks the kernel for error frames of these classes ([`error_class`]); they are not
    /// handed out as frames but collected for [`CanSocket::take_bus_errors`].
    pub fn set_error_mask(&self, mask: u32) -> io::Result<()> {
        let len = size_of::<u32>() as libc::socklen_t;
        // SAFETY: `mask` is a live u32 (`can_err_mask_t`) of `len` bytes.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                SOL_CAN_RAW,
                CAN_RAW_ERR_FILTER,
                (&raw const mask).cast(),
                len,
            )
        })?;
        Ok(())
    }

    /// The error classes seen since the last call.
    pub fn take_bus_errors(&self) -> u32 {
        self.bus_errors.swap(0, Ordering::Relaxed)
    }

    /// Puts one frame on the bus: always DLC 8, as ISO 15765-4 wants.
    pub async fn send(&self, frame: &CanFrame) -> io::Result<()> {
        let raw = RawFrame {
            can_id: raw_id(frame.id),
            len: 8,
            data: frame.data,
            ..RawFrame::default()
        };
        let give_up = tokio::time::Instant::now() + TX_QUEUE_PATIENCE;
        loop {
            let result = self
                .fd
                .async_io(Interest::WRITABLE, |fd| {
                    // SAFETY: writes one whole can_frame from a live value.
                    let n = unsafe {
                        libc::write(
                            fd.as_raw_fd(),
                            (&raw const raw).cast(),
                            size_of::<RawFrame>(),
                        )
                    };
                    if n < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(())
                    }
                })
                .await;
            match result {
                // The socket polls writable while the device queue is full; only time helps.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    if tokio::time::Instant::now() >= give_up {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                other => return other,
            }
        }
    }

    /// The next data frame. Error and remote frames are skipped; errors of the interface
    /// (ENETDOWN when it goes down, ENODEV when it disappears) come back as `Err`.
    pub async fn recv(&self) -> io::Result<RxFrame> {
        loop {
            let frame = self
                .fd
                // ERROR too: a socket whose interface went down polls EPOLLERR, not EPOLLIN,
                // and the read is what tells us so.
                .async_io(Interest::READABLE.add(Interest::ERROR), |fd| {
                    read_frame(fd.as_raw_fd(), &self.bus_errors)
                })
                .await?;
            if let Some(frame) = frame {
                return Ok(frame);
            }
        }
    }

    /// A frame already waiting, if any: for draining stale frames before a request.
    pub fn try_recv(&self) -> io::Result<Option<RxFrame>> {
        loop {
            match read_frame(self.fd.as_raw_fd(), &self.bus_errors) {
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Reads one frame: `Ok(None)` for frames we do not use (error, remote, short reads); error
/// frames leave their class in `errors`.
fn read_frame(fd: libc::c_int, errors: &AtomicU32) -> io::Result<Option<RxFrame>> {
    let mut raw = RawFrame::default();
    // SAFETY: reads at most one can_frame into a live value of that size.
    let n = unsafe { libc::read(fd, (&raw mut raw).cast(), size_of::<RawFrame>()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n == 0 {
        return Err(io::Error::from_raw_os_error(libc::ENODEV));
    }
    if raw.can_id & CAN_ERR_FLAG != 0 {
        errors.fetch_or(raw.can_id & CAN_EFF_MASK, Ordering::Relaxed);
    }
    Ok(parse_frame(&raw, n as usize))
}

fn parse_frame(raw: &RawFrame, read: usize) -> Option<RxFrame> {
    if read < size_of::<RawFrame>() || raw.can_id & (CAN_RTR_FLAG | CAN_ERR_FLAG) != 0 {
        return None;
    }
    let id = if raw.can_id & CAN_EFF_FLAG != 0 {
        CanId::Extended(raw.can_id & CAN_EFF_MASK)
    } else {
        CanId::Standard((raw.can_id & CAN_SFF_MASK) as u16)
    };
    Some(RxFrame {
        id,
        len: raw.len.min(8),
        bytes: raw.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_keep_formats_apart() {
        let f = CanFilter::masked(CanId::Standard(0x7E8), 0x7F8);
        assert_eq!((f.id, f.mask), (0x7E8, 0x7F8 | CAN_EFF_FLAG | CAN_RTR_FLAG));
        let f = CanFilter::masked(CanId::Extended(0x18DA_F100), 0x1FFF_FF00);
        assert_eq!(f.id, 0x18DA_F100 | CAN_EFF_FLAG);
        assert_eq!(f.mask, 0x1FFF_FF00 | CAN_EFF_FLAG | CAN_RTR_FLAG);
        let f = CanFilter::exact(CanId::Standard(0x7DF));
        assert_eq!((f.id, f.mask), (0x7DF, 0x7FF | CAN_EFF_FLAG | CAN_RTR_FLAG));
    }

    #[test]
    fn received_frames_are_taken_for_what_they_carry() {
        let mut raw = RawFrame {
            can_id: 0x7E8,
            len: 3,
            data: [3, 0x41, 0x0D, 0, 0, 0, 0, 0],
            ..RawFrame::default()
        };
        let f = parse_frame(&raw, 16).unwrap();
        assert_eq!(
            (f.id, f.data()),
            (CanId::Standard(0x7E8), &[3, 0x41, 0x0D][..])
        );
        raw.len = 200;
        assert_eq!(parse_frame(&raw, 16).unwrap().data().len(), 8, "bogus DLC");
        raw.can_id = 0x18DA_F110 | CAN_EFF_FLAG;
        assert_eq!(
            parse_frame(&raw, 16).unwrap().id,
            CanId::Extended(0x18DA_F110)
        );
        raw.can_id |= CAN_ERR_FLAG;
        assert_eq!(parse_frame(&raw, 16), None, "error frame");
        raw.can_id = 0x7E8 | CAN_RTR_FLAG;
        assert_eq!(parse_frame(&raw, 16), None, "remote frame");
        raw.can_id = 0x7E8;
        assert_eq!(parse_frame(&raw, 8), None, "short read");
        assert_eq!(
            raw_id(CanId::Extended(0xFFFF_FFFF)),
            CAN_EFF_MASK | CAN_EFF_FLAG
        );
    }

    #[test]
    fn missing_interfaces_are_told_apart() {
        if std::path::Path::new("/sys/class/net").exists() {
            assert_eq!(iface_state("no-such-can9"), IfaceState::Missing);
            assert_eq!(iface_state("lo"), IfaceState::NotCan);
        }
    }
}
