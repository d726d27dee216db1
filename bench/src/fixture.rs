//! Deterministic fixture kernels for the benchmarks: a large ELF `vmlinux` whose bytes compress
//! about as well as a real kernel's, and a `modules/` tree of many files, half of them
//! compressible and half not.

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

use banger_testkit::kernel::{fake_vmlinux, EM_X86_64};

/// `fastrand`, seeded: the same tree on every machine.
pub type Rng = fastrand::Rng;

/// `len` bytes that compress like machine code: tokens from a small dictionary with some noise.
pub fn code_like(rng: &mut Rng, len: usize) -> Vec<u8> {
    let dictionary: Vec<[u8; 8]> = (0..512)
        .map(|i| (i as u64 * 0x9e37_79b9_7f4a_7c15).to_le_bytes())
        .collect();
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        if rng.u8(..8) == 0 {
            out.extend_from_slice(&rng.u32(..).to_le_bytes());
        } else {
            out.extend_from_slice(&dictionary[rng.usize(..512)]);
        }
    }
    out.truncate(len);
    out
}

/// `len` bytes that do not compress.
pub fn random(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.u64(..).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Write a kernel tree into `dir`: a `vmlinux` of `vmlinux_mb` MiB and `modules` module files
/// averaging 38 KiB, half compressible. Returns the bytes written.
pub fn write_tree(dir: &Path, seed: u64, vmlinux_mb: usize, modules: usize) -> io::Result<u64> {
    let mut rng = Rng::with_seed(seed);
    fs::create_dir_all(dir)?;
    let mut vmlinux = fs::File::create(dir.join("vmlinux"))?;
    let header = fake_vmlinux(EM_X86_64, "6.12.3", 4096);
    vmlinux.write_all(&header)?;
    let mut total = header.len() as u64;
    // A kernel image is mostly code and data that compress, with some that does not.
    for chunk in 0..vmlinux_mb * 16 {
        let part = if chunk % 4 == 3 {
            random(&mut rng, 64 << 10)
        } else {
            code_like(&mut rng, 64 << 10)
        };
        vmlinux.write_all(&part)?;
        total += part.len() as u64;
    }
    let initrd = code_like(&mut rng, 2 << 20);
    fs::write(dir.join("initrd.img"), &initrd)?;
    total += initrd.len() as u64;
    let release = dir.join("modules/6.12.3");
    let mut dep = String::new();
    for i in 0..modules {
        let sub = format!("kernel/drivers/group{:02}", i % 40);
        fs::create_dir_all(release.join(&sub))?;
        let len = 4096 + rng.usize(..68 << 10);
        let bytes = if i % 2 == 0 {
            code_like(&mut rng, len)
        } else {
            random(&mut rng, len)
        };
        let name = format!("{sub}/mod{i:04}.ko");
        fs::write(release.join(&name), &bytes)?;
        dep.push_str(&format!("{name}:\n"));
        total += bytes.len() as u64;
    }
    fs::write(release.join("modules.dep"), &dep)?;
    std::os::unix::fs::symlink("kernel/drivers/group00", release.join("drivers0"))?;
    Ok(total + dep.len() as u64)
}

/// A zstd bundle of about `unpacked` bytes written straight to `out`, without a tree on disk:
/// for the memory benchmark, whose bundle is too large to want on disk twice.
pub fn synthetic_bundle(out: &Path, unpacked: u64, seed: u64) -> io::Result<()> {
    let mut rng = Rng::with_seed(seed);
    let file = fs::File::create(out)?;
    let encoder = zstd::stream::write::Encoder::new(file, 3)?;
    let mut builder = tar::Builder::new(encoder);
    let add = |builder: &mut tar::Builder<_>, name: &str, data: &[u8]| -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, data)
    };
    add(
        &mut builder,
        "vmlinux",
        &fake_vmlinux(EM_X86_64, "6.12.3", 64 << 20),
    )?;
    let mut written = 64u64 << 20;
    let mut i = 0;
    while written < unpacked {
        let data = code_like(&mut rng, 1 << 20);
        add(
            &mut builder,
            &format!("modules/6.12.3/big/part{i:05}.ko"),
            &data,
        )?;
        written += data.len() as u64;
        i += 1;
    }
    builder.into_inner()?.finish()?;
    Ok(())
}
