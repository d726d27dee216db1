//! banger's benchmark harness. It builds nothing: run it after a release build.
//!
//!     cargo build --release --workspace && cargo run --release -p banger-bench
//!
//! It generates the fixture kernels deterministically, starts nginx on 127.0.0.1, runs each
//! comparison several times side by side (banger, then the reference, alternating), and prints
//! medians and ratios. Targets (from the performance issue) are printed next to each figure.
//! It needs nginx, curl, GNU tar, zstd, bash and GNU time (`/usr/bin/time`).
//!
//! `--quick` uses fewer runs and smaller inputs, to check that the harness works.

mod fixture;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use banger_bundle::DigestReader;
use banger_testkit::nginx::Nginx;

/// One measured comparison.
struct Row {
    id: &'static str,
    what: &'static str,
    banger: f64,
    reference: Option<f64>,
    unit: &'static str,
    goal: &'static str,
    /// Whether the figure meets the goal.
    met: bool,
}

struct Bench {
    banger: PathBuf,
    /// On the disk (ext4 root here).
    disk: tempfile::TempDir,
    /// On tmpfs.
    shm: tempfile::TempDir,
    runs: usize,
    quick: bool,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let banger = std::env::current_exe()
        .expect("the harness's own path")
        .with_file_name("banger");
    assert!(
        banger.is_file()
            && banger
                .with_file_name("libbanger_source_mirror.so")
                .is_file(),
        "build banger and its plugins first: cargo build --release --workspace"
    );
    for tool in ["nginx", "curl", "tar", "zstd", "bash", "sha256sum"] {
        let found = Command::new("sh")
            .args([
                "-c",
                &format!("command -v {tool} || test -x /usr/sbin/{tool}"),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(found, "`{tool}` is needed: apt-get install -y {tool}");
    }
    assert!(
        Path::new("/usr/bin/time").is_file(),
        "GNU time is needed: apt-get install -y time"
    );
    let bench = Bench {
        banger,
        disk: tempfile::Builder::new()
            .prefix("banger-bench-")
            .tempdir()
            .unwrap(),
        shm: tempfile::Builder::new()
            .prefix("banger-bench-")
            .tempdir_in("/dev/shm")
            .expect("a tmpfs at /dev/shm"),
        runs: if quick { 2 } else { 5 },
        quick,
    };
    println!("{}", machine());
    let mut rows = Vec::new();
    rows.extend(bench.pulls());
    rows.push(bench.memory());
    rows.push(bench.pack());
    rows.extend(bench.startup());
    println!();
    println!(
        "{:<4} {:<46} {:>10} {:>10} {:>7}  {:<10} met",
        "", "measure (median)", "banger", "reference", "ratio", "goal"
    );
    for r in &rows {
        let (reference, ratio) = match r.reference {
            Some(reference) => (
                format!("{reference:.3}{}", r.unit),
                format!("{:.2}", r.banger / reference),
            ),
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<4} {:<46} {:>10} {:>10} {:>7}  {:<10} {}",
            r.id,
            r.what,
            format!("{:.3}{}", r.banger, r.unit),
            reference,
            ratio,
            r.goal,
            if r.met { "yes" } else { "NO" }
        );
    }
}

/// The CPU, core count and kernel, for the record.
fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("machine: {cpu}, {cores} cores, Linux {}", kernel.trim())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

/// Run `command` and return its wall time in seconds; it must succeed.
fn timed(mut command: Command) -> f64 {
    let started = Instant::now();
    let out = command.output().expect("the command starts");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn sha256_file(path: &Path) -> String {
    let mut reader = DigestReader::new(fs::File::open(path).unwrap(), u64::MAX);
    std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
    reader.digest().sha256
}

fn fresh(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
}

impl Bench {
    /// A banger command with a private state in `state` and kernels in `kernels`.
    fn banger(&self, state: &Path, kernels: &Path, catalog: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(&self.banger);
        command
            .args(args)
            .env("BANGER_STATE_DIR", state)
            .env("BANGER_KERNELS_DIR", kernels)
            .env("BANGER_CATALOG", catalog)
            .env("BANGER_PLUGIN_PATH", self.banger.parent().unwrap());
        command
    }

    fn bash(script: &str) -> Command {
        let mut command = Command::new("bash");
        command.args(["-o", "pipefail", "-c", script]);
        command
    }

    /// A bundle packed with GNU tar and `zstd -3`, served by nginx, and a trusted catalog
    /// naming it. P2b and P6 measure durability: the same on-disk pull without banger's
    /// flushes (`BANGER_UNSAFE_NO_SYNC=1`) against plain `zstd | tar`, and with them against
    /// `zstd | tar && sync`.
    fn pulls(&self) -> Vec<Row> {
        let tree = self.disk.path().join("tree");
        let (vmlinux_mb, modules) = if self.quick { (16, 500) } else { (64, 2000) };
        let bytes = fixture::write_tree(&tree, 1, vmlinux_mb, modules).unwrap();
        let www = self.disk.path().join("www");
        fs::create_dir_all(&www).unwrap();
        let file = "bench-6.12-x86_64.tar.zst";
        let bundle = www.join(file);
        let pack = format!(
            "tar --sort=name -C {} -cf - vmlinux initrd.img modules | zstd -3 -T0 -q -o {}",
            tree.display(),
            bundle.display()
        );
        timed(Self::bash(&pack));
        let size = fs::metadata(&bundle).unwrap().len();
        println!(
            "pull fixture: {:.1} MB unpacked ({} module files), bundle {:.1} MB",
            bytes as f64 / 1e6,
            modules,
            size as f64 / 1e6
        );
        let catalog = self.disk.path().join("catalog.json");
        let entry = serde_json::json!({
            "name": "bench-6.12", "distro": "bench", "arch": "x86_64", "kernel_version": "6.12.3",
            "url": format!("https://kernels.example/{file}"), "sha256": sha256_file(&bundle),
            "size": size, "description": "benchmark fixture",
        });
        fs::write(
            &catalog,
            serde_json::json!({"schema": 1, "entries": [entry]}).to_string(),
        )
        .unwrap();
        let nginx = Nginx::serve(&www);
        let url = nginx.url(file);
        let base = nginx.url("");

        let mut rows = Vec::new();
        let shm = self.shm.path();
        let disk = self.disk.path();
        // (id, what, where the kernels go, source args, flushes, reference script, goal)
        let offline = vec!["--source", "offline", "--dir", www.to_str().unwrap()];
        let unpack = format!("zstd -dc {} | tar -x -C OUT", bundle.display());
        let cases = [
            (
                "P1",
                "pull, HTTP mirror on nginx -> tmpfs",
                shm.to_owned(),
                vec!["--source", "mirror", "--mirror", &base[..]],
                true,
                format!("curl -s {url} | tee >(sha256sum >/dev/null) | zstd -dc | tar -x -C OUT"),
                0.7,
            ),
            (
                "P2",
                "pull, offline file -> tmpfs",
                shm.to_owned(),
                offline.clone(),
                true,
                unpack.clone(),
                1.3,
            ),
            (
                "P2b",
                "pull, offline file -> disk, no flushes",
                disk.to_owned(),
                offline.clone(),
                false,
                unpack.clone(),
                1.2,
            ),
            (
                "P6",
                "pull, offline file -> disk, flushed",
                disk.to_owned(),
                offline.clone(),
                true,
                format!("{unpack} && sync"),
                1.2,
            ),
        ];
        let mut synced = (0.0, 0.0);
        for (id, what, place, source, flushes, reference, goal) in cases {
            let (state, kernels, out) = (
                place.join("state"),
                place.join("kernels"),
                place.join("out"),
            );
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..self.runs {
                fresh(&state);
                fresh(&kernels);
                fs::remove_dir_all(&kernels).unwrap();
                let mut args = vec!["kernel", "pull", "bench-6.12", "--arch", "x86_64"];
                args.extend(&source);
                let mut pull = self.banger(&state, &kernels, &catalog, &args);
                if !flushes {
                    pull.env("BANGER_UNSAFE_NO_SYNC", "1");
                }
                // Start each run with nothing dirty, so no run flushes another's writes.
                timed(Self::bash("sync"));
                ours.push(timed(pull));
                fresh(&out);
                timed(Self::bash("sync"));
                theirs.push(timed(Self::bash(
                    &reference.replace("OUT", out.to_str().unwrap()),
                )));
            }
            let (b, r) = (median(ours), median(theirs));
            match id {
                "P2b" => synced.0 = b,
                "P6" => synced.1 = b,
                _ => {}
            }
            rows.push(Row {
                id,
                what,
                banger: b,
                reference: Some(r),
                unit: " s",
                goal: if goal < 1.0 {
                    "<= 0.70x"
                } else if goal > 1.25 {
                    "<= 1.30x"
                } else {
                    "<= 1.20x"
                },
                met: b / r <= goal,
            });
            let _ = fs::remove_dir_all(&out);
            let _ = fs::remove_dir_all(&kernels);
        }
        rows.push(self.oci_against_mirror(&www, &catalog, &base));
        println!(
            "durability: flushing the installed tree costs {:.3} s ({:.2}x the pull without flushes)",
            synced.1 - synced.0,
            synced.1 / synced.0
        );
        rows
    }

    /// P7: the same bundle pulled from a loopback OCI registry (`docker-registry`, plain HTTP as
    /// on loopback, like the nginx mirror) and from the nginx mirror, into tmpfs, alternating.
    fn oci_against_mirror(&self, www: &Path, catalog: &Path, mirror: &str) -> Row {
        use banger_testkit::registry::{Auth, Registry};
        let registry = Registry::start_with(Auth::None, false);
        let repo = format!("{}/bench/kernels", registry.address());
        let (state, kernels) = (
            self.shm.path().join("oci-state"),
            self.shm.path().join("oci-kernels"),
        );
        let with_ca = |mut command: Command| {
            command.env("SSL_CERT_FILE", registry.ca_file());
            command
        };
        fresh(&state);
        let www = www.to_str().unwrap();
        timed(with_ca(self.banger(
            &state,
            &kernels,
            catalog,
            &[
                "kernel",
                "mirror",
                &format!("oci://{repo}"),
                "--arch",
                "x86_64",
                "--source",
                "offline",
                "--dir",
                www,
            ],
        )));
        let (mut oci, mut nginx) = (Vec::new(), Vec::new());
        for _ in 0..self.runs {
            for (times, source) in [
                (&mut oci, vec!["--oci", &repo[..]]),
                (&mut nginx, vec!["--source", "mirror", "--mirror", mirror]),
            ] {
                fresh(&state);
                let _ = fs::remove_dir_all(&kernels);
                let mut args = vec!["kernel", "pull", "bench-6.12", "--arch", "x86_64"];
                args.extend(source);
                times.push(timed(with_ca(
                    self.banger(&state, &kernels, catalog, &args),
                )));
            }
        }
        let _ = fs::remove_dir_all(&kernels);
        let (b, r) = (median(oci), median(nginx));
        Row {
            id: "P7",
            what: "pull, OCI registry vs nginx mirror (HTTP) -> tmpfs",
            banger: b,
            reference: Some(r),
            unit: " s",
            goal: "<= 1.10x",
            met: b / r <= 1.1,
        }
    }

    /// Peak RSS of a pull of a bundle that unpacks to 1 GiB.
    fn memory(&self) -> Row {
        let dir = self.shm.path().join("big");
        fs::create_dir_all(&dir).unwrap();
        let file = "big-6.12-x86_64.tar.zst";
        let unpacked = if self.quick { 256u64 << 20 } else { 1 << 30 };
        fixture::synthetic_bundle(&dir.join(file), unpacked, 3).unwrap();
        let size = fs::metadata(dir.join(file)).unwrap().len();
        let catalog = self.disk.path().join("big-catalog.json");
        let entry = serde_json::json!({
            "name": "big-6.12", "distro": "bench", "arch": "x86_64", "kernel_version": "6.12.3",
            "url": format!("https://kernels.example/{file}"), "sha256": sha256_file(&dir.join(file)),
            "size": size,
        });
        fs::write(
            &catalog,
            serde_json::json!({"schema": 1, "entries": [entry]}).to_string(),
        )
        .unwrap();
        let (state, kernels) = (
            self.shm.path().join("big-state"),
            self.shm.path().join("big-kernels"),
        );
        let mut peaks = Vec::new();
        for _ in 0..self.runs.min(3) {
            let _ = fs::remove_dir_all(&kernels);
            fresh(&state);
            let command = self.banger(
                &state,
                &kernels,
                &catalog,
                &[
                    "kernel",
                    "pull",
                    "big-6.12",
                    "--arch",
                    "x86_64",
                    "--source",
                    "offline",
                    "--dir",
                    dir.to_str().unwrap(),
                ],
            );
            let program = command.get_program().to_owned();
            let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
            let envs: Vec<_> = command
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
                .collect();
            let out = Command::new("/usr/bin/time")
                .arg("-f")
                .arg("maxrss_kb=%M")
                .arg(program)
                .args(args)
                .envs(envs)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "big pull failed: {err}");
            let kb: f64 = err
                .lines()
                .find_map(|l| l.strip_prefix("maxrss_kb="))
                .and_then(|v| v.trim().parse().ok())
                .expect("GNU time's output");
            peaks.push(kb / 1024.0);
        }
        let _ = fs::remove_dir_all(&kernels);
        let _ = fs::remove_dir_all(&dir);
        let peak = median(peaks);
        Row {
            id: "P3",
            what: if self.quick {
                "peak RSS, pull of 256 MiB unpacked"
            } else {
                "peak RSS, pull of 1 GiB unpacked"
            },
            banger: peak,
            reference: None,
            unit: " MiB",
            goal: "<= 64 MiB",
            met: peak <= 64.0,
        }
    }

    /// `kernel publish --dry-run` (zstd -19 on every core) against `tar | zstd -19 -T1`.
    fn pack(&self) -> Row {
        let tree = self.disk.path().join("tree60");
        let (vmlinux_mb, modules) = if self.quick { (8, 200) } else { (32, 800) };
        let bytes = fixture::write_tree(&tree, 2, vmlinux_mb, modules).unwrap();
        let state = self.disk.path().join("pack-state");
        let kernels = state.join("kernels");
        let catalog = self.disk.path().join("pack-catalog.json");
        fs::write(&catalog, "{\"schema\": 1, \"entries\": []}\n").unwrap();
        timed(self.banger(
            &state,
            &kernels,
            &catalog,
            &[
                "kernel",
                "import",
                "pack-6.12",
                "--from",
                tree.to_str().unwrap(),
                "--distro",
                "pack",
                "--arch",
                "x86_64",
            ],
        ));
        let out = self.disk.path().join("pack-out");
        let reference = self.disk.path().join("reference.tar.zst");
        let script = format!(
            "tar --sort=name -C {} -cf - vmlinux initrd.img modules | zstd -19 -T1 -q -f -o {}",
            tree.display(),
            reference.display()
        );
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..self.runs.min(3) {
            ours.push(timed(self.banger(
                &state,
                &kernels,
                &catalog,
                &[
                    "kernel",
                    "publish",
                    "pack-6.12",
                    "--dry-run",
                    // The fixture is a packing load, not a kernel that boots.
                    "--allow-unready",
                    "--out",
                    out.to_str().unwrap(),
                    "--catalog",
                    catalog.to_str().unwrap(),
                ],
            )));
            theirs.push(timed(Self::bash(&script)));
        }
        let ours_size = fs::metadata(out.join("pack-6.12-x86_64.tar.zst"))
            .unwrap()
            .len();
        let their_size = fs::metadata(&reference).unwrap().len();
        let (b, r) = (median(ours), median(theirs));
        let growth = ours_size as f64 / their_size as f64 - 1.0;
        println!(
            "pack: {:.1} MB unpacked; banger {:.2} MB (ratio {:.2}), tar|zstd -19 -T1 {:.2} MB (ratio {:.2}); size difference {:+.2}%",
            bytes as f64 / 1e6,
            ours_size as f64 / 1e6,
            bytes as f64 / ours_size as f64,
            their_size as f64 / 1e6,
            bytes as f64 / their_size as f64,
            growth * 100.0
        );
        Row {
            id: "P4",
            what: "publish --dry-run (zstd -19) vs tar|zstd -19 -T1",
            banger: b,
            reference: Some(r),
            unit: " s",
            goal: "<= 0.65x",
            met: b / r <= 0.65 && growth <= 0.01,
        }
    }

    /// Start-up of the two commands that load plugins.
    fn startup(&self) -> Vec<Row> {
        let state = self.disk.path().join("startup-state");
        let catalog = self.disk.path().join("catalog.json");
        let mut rows = Vec::new();
        for (id, what, args) in [
            (
                "P5",
                "plugin list (5 built-in plugins)",
                vec!["plugin", "list"],
            ),
            (
                "P5",
                "kernel list --available",
                vec!["kernel", "list", "--available"],
            ),
        ] {
            let times: Vec<f64> = (0..21)
                .map(|_| {
                    timed(self.banger(&state, &state.join("kernels"), &catalog, &args)) * 1000.0
                })
                .collect();
            let ms = median(times);
            rows.push(Row {
                id,
                what,
                banger: ms,
                reference: None,
                unit: " ms",
                goal: "<= 30 ms",
                met: ms <= 30.0,
            });
        }
        rows
    }
}
