use super::*;
use stagescope_fs::testutil::with_first_entry;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

fn written(t: &Result<Target, ExtractError>) -> Result<PathBuf, ExtractError> {
    match t {
        Ok(t) => Ok(t.path().to_path_buf()),
        Err(e) => Err(e.clone()),
    }
}

fn write(dest: &Path, name: &[u8], data: &[u8]) -> Result<u64, ExtractError> {
    let t = extract_target(dest, name)?;
    write_new_file(&t, 0o644, &mut &data[..])
}

#[test]
fn target_inside_a_directory_or_the_path_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    assert_eq!(written(&extract_target(d, b"passwd")), Ok(d.join("passwd")));
    assert_eq!(
        written(&extract_target(&d.join("new"), b"x")),
        Ok(d.join("new"))
    );
    for bad in [
        &b".."[..],
        b".",
        b"",
        b"a/b",
        b"../../etc/passwd",
        b"/etc/passwd",
    ] {
        assert!(
            matches!(extract_target(d, bad), Err(ExtractError::BadName(_))),
            "{}",
            escape(bad)
        );
    }
    std::fs::write(d.join("taken"), b"keep").expect("write");
    assert!(matches!(
        extract_target(&d.join("taken"), b"x"),
        Err(ExtractError::Exists(_))
    ));
    symlink("/etc", d.join("link")).expect("symlink");
    assert!(matches!(
        extract_target(&d.join("link"), b"x"),
        Err(ExtractError::DestinationIsLink(_))
    ));
    assert!(matches!(
        extract_target(&d.join("no/such/dir/x"), b"x"),
        Err(ExtractError::Io(_))
    ));
}

#[test]
fn a_link_anywhere_in_the_destination_is_refused_not_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let outside = tempfile::tempdir().expect("outside");
    symlink(outside.path(), d.join("via")).expect("symlink");
    std::fs::create_dir(d.join("real")).expect("mkdir");
    symlink(outside.path(), d.join("real/deeper")).expect("symlink");
    for dest in [
        d.join("via"),
        d.join("via/new-name"),
        d.join("real/deeper/new-name"),
        d.join("real/../via/x"),
    ] {
        let got = write(&dest, b"evil", b"owned");
        assert!(
            matches!(got, Err(ExtractError::DestinationIsLink(_))),
            "{}: {got:?}",
            dest.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("ls").count(),
        0,
        "nothing written through a link"
    );
    // `..` through real directories stays allowed.
    assert_eq!(write(&d.join("real/../real"), b"ok", b"1"), Ok(1));
    assert_eq!(std::fs::read(d.join("real/ok")).expect("read"), b"1");
}

#[test]
fn never_overwrites_nor_follows_a_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let outside = d.join("outside");
    symlink(&outside, d.join("dangling")).expect("symlink");
    let err = write(d, b"dangling", b"evil");
    assert!(matches!(err, Err(ExtractError::Exists(_))), "{err:?}");
    assert!(!outside.exists());
    let t = extract_target(d, b"ok").expect("target");
    let n = write_new_file(&t, 0o4755, &mut &b"data"[..]).expect("write");
    assert_eq!(n, 4);
    let mode = std::fs::metadata(d.join("ok"))
        .expect("md")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755 & !umask());
    // Between choosing the target and writing, a file (or a link) appeared: not replaced.
    let t = extract_target(d, b"late").expect("target");
    symlink(&outside, d.join("late")).expect("symlink");
    assert!(matches!(
        write_new_file(&t, 0o644, &mut &b"x"[..]),
        Err(ExtractError::Exists(_))
    ));
    assert!(!outside.exists());
    assert!(matches!(
        write(d, b"ok", b"again"),
        Err(ExtractError::Exists(_))
    ));
    assert_eq!(std::fs::read(d.join("ok")).expect("read"), b"data");
}

fn umask() -> u32 {
    // The process umask applies to the mode asked for; 022 is usual, read it back.
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("probe");
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o777)
        .open(&p)
        .expect("probe");
    !std::fs::metadata(&p).expect("md").permissions().mode() & 0o777
}

/// An archive as the engine might send it, hostile: one entry of `kind` named `name`.
fn archive(name: &[u8], t: tar::EntryType, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(t);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
    if !link.is_empty() {
        h.set_link_name_literal(link).expect("link");
    }
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, data).expect("append");
    b.into_inner().expect("tar")
}

fn extract_first(tar: &[u8], target: &Target) -> Result<u64, ExtractError> {
    with_first_entry(tar, |e| extract_entry(e, b"app/x", target))
}

#[test]
fn the_archive_cannot_steer_the_write_nor_make_a_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("in");
    std::fs::create_dir(&d).expect("mkdir");
    // Its own name says `../../escaped` or `/abs`: ignored, the file is the name asked for.
    for (i, name) in [&b"../../escaped"[..], b"/tmp/abs-escaped"]
        .iter()
        .enumerate()
    {
        let t = extract_target(&d, format!("f{i}").as_bytes()).expect("target");
        let tar = archive(name, tar::EntryType::Regular, b"", b"data");
        assert_eq!(extract_first(&tar, &t), Ok(4));
        assert_eq!(
            std::fs::read(d.join(format!("f{i}"))).expect("read"),
            b"data"
        );
    }
    assert!(!dir.path().join("escaped").exists());
    // A link pointing outside, a hard link, a device: refused, nothing made.
    for (t, link) in [
        (tar::EntryType::Symlink, &b"/etc/passwd"[..]),
        (tar::EntryType::Symlink, b"../../../.."),
        (tar::EntryType::Link, b"etc/shadow"),
        (tar::EntryType::Char, b""),
        (tar::EntryType::Directory, b""),
    ] {
        let target = extract_target(&d, b"l").expect("target");
        let got = extract_first(&archive(b"l", t, link, b""), &target);
        assert!(
            matches!(got, Err(ExtractError::NotAFile(_, _))),
            "{t:?}: {got:?}"
        );
        assert!(std::fs::symlink_metadata(d.join("l")).is_err(), "{t:?}");
    }
}

/// `size` zero bytes, made as they are read.
struct Zeros(u64);

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.0) as usize;
        buf[..n].fill(0);
        self.0 -= n as u64;
        Ok(n)
    }
}

#[test]
fn zero_runs_are_written_as_holes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 256u64 << 20;
    let t = extract_target(dir.path(), b"sparse").expect("target");
    let mut content = (&b"head"[..]).chain(Zeros(size)).chain(&b"tail"[..]);
    assert_eq!(write_new_file(&t, 0o644, &mut content), Ok(size + 8));
    let md = std::fs::metadata(dir.path().join("sparse")).expect("md");
    assert_eq!(md.len(), size + 8);
    // 512-byte blocks: a few for the ends, none for the zeros.
    assert!(md.blocks() * 512 < 1 << 20, "{} blocks", md.blocks());
    let mut f = std::fs::File::open(dir.path().join("sparse")).expect("open");
    let mut end = [0u8; 8];
    f.seek(SeekFrom::End(-8)).expect("seek");
    f.read_exact(&mut end).expect("read");
    assert_eq!(&end, b"\0\0\0\0tail");
    // A file ending in zeros still has its whole length.
    let t = extract_target(dir.path(), b"trailing").expect("target");
    assert_eq!(write_new_file(&t, 0o644, &mut Zeros(100_000)), Ok(100_000));
    assert_eq!(
        std::fs::metadata(dir.path().join("trailing"))
            .expect("md")
            .len(),
        100_000
    );
}
