//! One QEMU run of a smoke boot: the command line, a scrubbed environment, a timeout, and the
//! serial console read as untrusted text.
//!
//! The machine is as close to Firecracker's device model as QEMU gets: x86_64 runs `-M
//! microvm` (virtio-mmio devices, an 8250 serial port, no PCI, no option ROMs), with ACPI
//! tables (`acpi=on`, Firecracker >= 1.8) or with `virtio_mmio.device=` on the command line
//! (`acpi=off`, which microvm then appends); arm64 runs `-M virt`, whose virtio-mmio devices
//! are in the device tree. Each run gets one read-only virtio-blk disk and one virtio-net
//! device on a restricted user-mode network (`restrict=on`: nothing leaves the VM).
//!
//! The console is read line by line: each line is cut at [`MAX_LINE`] bytes and only the
//! last [`TAIL_LINES`] are kept, so a kernel that prints without end costs no memory; the run
//! ends at its timeout whatever it prints. Nothing read here is printed raw: callers make it
//! inert.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

use super::initramfs::MARKER;
use crate::check::Machine;

/// The console lines a failing run keeps.
pub const TAIL_LINES: usize = 30;
/// A console line is cut here.
const MAX_LINE: usize = 512;
/// After the marker, how long the VM gets to reboot before it is killed.
const AFTER_MARKER: Duration = Duration::from_secs(5);
/// The `PATH` QEMU runs with; nothing else of the environment reaches it.
const SCRUBBED_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

/// How the guest finds its devices in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discovery {
    /// x86_64 microvm with ACPI tables.
    Acpi,
    /// x86_64 microvm without ACPI: `virtio_mmio.device=` on the command line.
    Cmdline,
    /// arm64 virt: the device tree.
    DeviceTree,
}

/// How QEMU runs the guest's CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

/// What one run is given.
pub struct Vm<'a> {
    pub qemu: &'a Path,
    pub machine: Machine,
    pub discovery: Discovery,
    pub accel: Accel,
    pub kernel: &'a Path,
    pub initrd: &'a Path,
    pub disk: &'a Path,
    pub timeout: Duration,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// QEMU exited by itself (the guest rebooted, or QEMU failed).
    Exited(Option<i32>),
    /// QEMU died of this signal.
    Signalled(i32),
    /// It was killed at the timeout.
    TimedOut,
    /// It was killed some seconds after the marker, having not rebooted.
    KilledAfterMarker,
}

/// What a run printed.
pub struct Console {
    /// The marker line's fields after the nonce (`release=… disk=… net=…`), if it came.
    pub marker: Option<String>,
    /// The last console lines, QEMU's own messages after them.
    pub tail: Vec<String>,
    pub ended: Ended,
    pub elapsed: Duration,
}

impl Vm<'_> {
    /// The QEMU arguments of this run.
    pub fn args(&self) -> Vec<String> {
        let (machine, console) = match (self.machine, self.discovery) {
            (Machine::X86_64, Discovery::Cmdline) => {
                ("microvm,x-option-roms=off,acpi=off", "ttyS0")
            }
            (Machine::X86_64, _) => ("microvm,x-option-roms=off,acpi=on", "ttyS0"),
            (Machine::Arm64, _) => ("virt,acpi=off,gic-version=3", "ttyAMA0"),
        };
        let cpu = match (self.accel, self.machine) {
            (Accel::Kvm, _) => "host",
            (Accel::Tcg, Machine::X86_64) => "max",
            (Accel::Tcg, Machine::Arm64) => "cortex-a57",
        };
        let accel = match self.accel {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        };
        // tsc_early_khz: without it, TSC calibration under TCG hangs in about half the runs.
        let mut append = format!("console={console} reboot=t panic=-1 quiet");
        if self.machine == Machine::X86_64 {
            append.push_str(" tsc_early_khz=2000000");
        }
        let mut args: Vec<String> = [
            "-M",
            machine,
            "-accel",
            accel,
            "-cpu",
            cpu,
            "-m",
            "512",
            "-smp",
            "1",
            "-nodefaults",
            "-no-user-config",
            "-nographic",
            "-serial",
            "stdio",
            "-no-reboot",
        ]
        .map(String::from)
        .into();
        let path = |p: &Path| p.display().to_string();
        args.extend([
            "-kernel".into(),
            path(self.kernel),
            "-initrd".into(),
            path(self.initrd),
            "-append".into(),
            append,
            "-drive".into(),
            format!(
                "id=disk0,file={},format=raw,if=none,readonly=on",
                // QEMU splits -drive options at commas; doubled, a comma is part of the name.
                path(self.disk).replace(',', ",,")
            ),
            "-device".into(),
            "virtio-blk-device,drive=disk0".into(),
            "-netdev".into(),
            "user,id=net0,restrict=on".into(),
            "-device".into(),
            "virtio-net-device,netdev=net0".into(),
        ]);
        args
    }

    /// Run QEMU until the marker and the reboot, its own exit, or the timeout.
    pub fn run(&self, nonce: &str) -> Result<Console> {
        let started = Instant::now();
        let mut child = Command::new(self.qemu)
            .args(self.args())
            .env_clear()
            .env("PATH", SCRUBBED_PATH)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run `{}`", self.qemu.display()))?;
        let (events, received) = mpsc::channel();
        let marker = format!("{MARKER}-{nonce} ");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let console = std::thread::spawn({
            let events = events.clone();
            move || read_lines(stdout, Some(&marker), &events)
        });
        let messages = std::thread::spawn(move || read_lines(stderr, None, &events));
        let deadline = started + self.timeout;
        let mut marker_seen: Option<Instant> = None;
        let mut ended = None;
        while ended.is_none() {
            let wait_until = match marker_seen {
                Some(at) => (at + AFTER_MARKER).min(deadline),
                None => deadline,
            };
            let now = Instant::now();
            if now >= wait_until {
                break;
            }
            // Any event, or 100 ms, wakes the loop to look at the child again.
            let event = received.recv_timeout((wait_until - now).min(Duration::from_millis(100)));
            if let (Ok(Event::Marker), None) = (event, marker_seen) {
                marker_seen = Some(Instant::now());
            }
            if let Some(status) = child
                .try_wait()
                .with_context(|| format!("cannot wait for `{}`", self.qemu.display()))?
            {
                use std::os::unix::process::ExitStatusExt;
                ended = Some(match status.signal() {
                    Some(signal) => Ended::Signalled(signal),
                    None => Ended::Exited(status.code()),
                });
            }
        }
        let ended = match ended {
            Some(ended) => ended,
            None => {
                // Killed by its id, the child we started; then reaped.
                let _ = child.kill();
                let _ = child.wait();
                if marker_seen.is_some() {
                    Ended::KilledAfterMarker
                } else {
                    Ended::TimedOut
                }
            }
        };
        let elapsed = started.elapsed();
        let console = console.join().unwrap_or_default();
        let messages = messages.join().unwrap_or_default();
        let mut tail: Vec<String> = console.tail.into();
        tail.extend(
            messages
                .tail
                .into_iter()
                .map(|line| format!("qemu: {line}")),
        );
        let excess = tail.len().saturating_sub(TAIL_LINES);
        tail.drain(..excess);
        Ok(Console {
            marker: console.marker,
            tail,
            ended,
            elapsed,
        })
    }
}

enum Event {
    Marker,
    Closed,
}

#[derive(Default)]
struct Lines {
    marker: Option<String>,
    tail: VecDeque<String>,
}

/// Read `input` to its end, keeping the last lines and the first marker line's fields.
fn read_lines(input: impl Read, marker: Option<&str>, events: &mpsc::Sender<Event>) -> Lines {
    let mut reader = BufReader::new(input);
    let mut lines = Lines::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_capped_line(&mut reader, &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if let (Some(marker), None) = (marker, &lines.marker) {
            // The guest's line may follow other output on the same line (a kernel message).
            if let Some(at) = text.find(marker) {
                lines.marker = Some(text[at + marker.len()..].to_owned());
                let _ = events.send(Event::Marker);
            }
        }
        if lines.tail.len() == TAIL_LINES {
            lines.tail.pop_front();
        }
        lines.tail.push_back(text.to_owned());
    }
    let _ = events.send(Event::Closed);
    lines
}

/// One line into `line`, at most [`MAX_LINE`] bytes of it kept; the rest is read and dropped.
fn read_capped_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut read = 0;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(read);
        }
        let (chunk, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(at) => (&buffer[..=at], true),
            None => (buffer, false),
        };
        let room = MAX_LINE.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        reader.consume(used);
        read += used;
        if done {
            return Ok(read);
        }
    }
}

/// Where `program` is on the user's `PATH`, if anywhere.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os(banger_env::PATH)?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_and_only_the_tail_kept() {
        let mut input = Vec::new();
        for i in 0..100 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        input.extend_from_slice(&vec![b'x'; 10_000]);
        input.extend_from_slice(b"\n[ 1.0] banger-probe-abc release=6.1.0 disk=no net=yes\r\nend");
        let (events, received) = mpsc::channel();
        let lines = read_lines(&input[..], Some("banger-probe-abc "), &events);
        assert_eq!(
            lines.marker.as_deref(),
            Some("release=6.1.0 disk=no net=yes")
        );
        assert_eq!(lines.tail.len(), TAIL_LINES);
        assert_eq!(lines.tail[TAIL_LINES - 3].len(), MAX_LINE);
        assert_eq!(lines.tail.back().map(String::as_str), Some("end"));
        assert!(matches!(received.try_recv(), Ok(Event::Marker)));
    }

    #[test]
    fn the_command_lines_follow_the_discovery_path() {
        let vm = |machine, discovery| Vm {
            qemu: Path::new("qemu"),
            machine,
            discovery,
            accel: Accel::Tcg,
            kernel: Path::new("/k/vmlinux"),
            initrd: Path::new("/t/init.cpio"),
            disk: Path::new("/t/a,b.img"),
            timeout: Duration::from_secs(1),
        };
        let acpi = vm(Machine::X86_64, Discovery::Acpi).args().join(" ");
        assert!(acpi.contains("-M microvm,x-option-roms=off,acpi=on -accel tcg -cpu max"));
        assert!(acpi.contains("console=ttyS0 reboot=t panic=-1 quiet tsc_early_khz=2000000"));
        assert!(acpi.contains("file=/t/a,,b.img,format=raw"));
        assert!(acpi.contains("-netdev user,id=net0,restrict=on"));
        let cmdline = vm(Machine::X86_64, Discovery::Cmdline).args().join(" ");
        assert!(cmdline.contains("acpi=off"));
        let arm = vm(Machine::Arm64, Discovery::DeviceTree).args().join(" ");
        assert!(arm.contains("-M virt,acpi=off,gic-version=3 -accel tcg -cpu cortex-a57"));
        assert!(arm.contains("-append console=ttyAMA0 reboot=t panic=-1 quiet -drive"));
    }
}
