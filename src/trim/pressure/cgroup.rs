//! The process's cgroup v2 memory files: where they are (`/proc/self/cgroup`,
//! `/proc/self/mountinfo`) and what they say (`memory.events`,
//! `memory.pressure`). The only part of the watcher that touches the file
//! system is [`CgroupFiles`]; every parser takes text, so the tests below
//! feed it text.

use super::decide::{Events, Sources};
use std::path::{Path, PathBuf};

/// The cgroup v2 files of this process: `memory.events` of its cgroup and of
/// each ancestor up to the cgroup2 mount (a limit set on a parent slice shows
/// only in the parent's file), and its own `memory.pressure`.
#[derive(Debug, Default)]
pub(super) struct CgroupFiles {
    pub(super) events: Vec<PathBuf>,
    pub(super) pressure: Option<PathBuf>,
}

impl CgroupFiles {
    /// Finds the files from `/proc/self/cgroup` (the `0::/path` line) and the
    /// cgroup2 mount in `/proc/self/mountinfo` (`/sys/fs/cgroup` on a pure
    /// v2 system; `/sys/fs/cgroup/unified` on a hybrid one). Empty if any of
    /// it is missing.
    pub(super) fn discover() -> CgroupFiles {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let (Some(cgroup), mountinfo) = (read("/proc/self/cgroup"), read("/proc/self/mountinfo"))
        else {
            return CgroupFiles::default();
        };
        let Some(dirs) = cgroup_dirs(&cgroup, mountinfo.as_deref()) else {
            return CgroupFiles::default();
        };
        CgroupFiles::in_dirs(&dirs, |p| p.exists())
    }

    /// The files among `dirs` (own cgroup first, then its ancestors) that
    /// `exists` accepts.
    fn in_dirs(dirs: &[PathBuf], exists: impl Fn(&Path) -> bool) -> CgroupFiles {
        let events = dirs
            .iter()
            .map(|d| d.join("memory.events"))
            .filter(|p| exists(p))
            .collect();
        let pressure = dirs
            .first()
            .map(|d| d.join("memory.pressure"))
            .filter(|p| exists(p));
        CgroupFiles { events, pressure }
    }
}

impl Sources for CgroupFiles {
    fn events(&self) -> Vec<Option<Events>> {
        self.events
            .iter()
            .map(|p| parse_events(&std::fs::read_to_string(p).ok()?))
            .collect()
    }

    fn psi_some_avg10(&self) -> Option<f64> {
        psi_some_avg10(&std::fs::read_to_string(self.pressure.as_ref()?).ok()?)
    }
}

/// Parses `memory.events` (`key value` lines); `None` if it has none of the
/// three keys that mean a limit was hit.
fn parse_events(text: &str) -> Option<Events> {
    let mut events = Events::default();
    let mut seen = false;
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let slot = match key {
            "high" => &mut events.high,
            "max" => &mut events.max,
            "oom" => &mut events.oom,
            _ => continue,
        };
        if let Ok(v) = value.parse() {
            *slot = v;
            seen = true;
        }
    }
    seen.then_some(events)
}

/// The `some avg10=` figure of a PSI file such as `memory.pressure`: the
/// share of the last 10 s in which some task stalled, in percent.
fn psi_some_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    line.split_ascii_whitespace()
        .find_map(|w| w.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// The directories of this process's cgroup v2 and its ancestors, own first,
/// down to the cgroup2 mount point, from the texts of `/proc/self/cgroup`
/// and `/proc/self/mountinfo` (`/sys/fs/cgroup` is assumed without one).
fn cgroup_dirs(proc_cgroup: &str, mountinfo: Option<&str>) -> Option<Vec<PathBuf>> {
    let path = proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let (root, mount) = match mountinfo.and_then(cgroup2_mount) {
        Some((root, mount)) => (root, PathBuf::from(mount)),
        None => ("/".to_owned(), PathBuf::from("/sys/fs/cgroup")),
    };
    // The process's path is relative to the hierarchy's root; the mount shows
    // the hierarchy from `root` down.
    let relative = if root == "/" {
        path
    } else {
        path.strip_prefix(root.as_str())?
    };
    let mut dir = mount.clone();
    let mut dirs = vec![mount];
    for part in relative.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." {
            return None;
        }
        dir.push(part);
        dirs.push(dir.clone());
    }
    dirs.reverse();
    Some(dirs)
}

/// `(root, mount point)` of the first cgroup2 mount in a mountinfo text.
fn cgroup2_mount(mountinfo: &str) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        if fs.split_ascii_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = mount.split_ascii_whitespace().skip(3);
        let root = unescape(fields.next()?);
        let point = unescape(fields.next()?);
        Some((root, point))
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(all(test, not(shardpool_loom)))]
mod tests {
    use super::*;

    /// A `memory.events` text as the kernel writes it.
    fn events_text(high: u64, max: u64, oom: u64) -> String {
        format!("low 0\nhigh {high}\nmax {max}\noom {oom}\noom_kill {oom}\noom_group_kill 0\n")
    }

    #[test]
    fn parses_memory_events() {
        assert_eq!(
            parse_events(&events_text(3, 2, 1)),
            Some(Events {
                high: 3,
                max: 2,
                oom: 1
            })
        );
        // `oom_kill` and `oom_group_kill` are not `oom`.
        assert_eq!(
            parse_events("oom_kill 5\nmax 1\n"),
            Some(Events {
                high: 0,
                max: 1,
                oom: 0
            })
        );
        assert_eq!(parse_events(""), None);
        assert_eq!(parse_events("low 4\ngarbage\n"), None);
    }

    #[test]
    fn parses_psi_some_avg10() {
        assert_eq!(
            psi_some_avg10(
                "some avg10=12.50 avg60=1.00 avg300=0.50 total=12345\n\
                 full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
            ),
            Some(12.5)
        );
        // `full` is not `some`, whatever its order.
        assert_eq!(
            psi_some_avg10(
                "full avg10=99.00 avg60=0 avg300=0 total=0\nsome avg10=0.25 avg60=0.00 avg300=0.00 total=1\n"
            ),
            Some(0.25)
        );
        assert_eq!(psi_some_avg10("some avg60=1.00\n"), None);
        assert_eq!(psi_some_avg10("garbage"), None);
        assert_eq!(psi_some_avg10(""), None);
    }

    #[test]
    fn finds_cgroup_dirs_pure_v2() {
        let dirs = cgroup_dirs(
            "0::/system.slice/app.service\n",
            Some(
                "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
            ),
        )
        .unwrap();
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/system.slice/app.service",
                "/sys/fs/cgroup/system.slice",
                "/sys/fs/cgroup",
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn finds_cgroup_dirs_hybrid_and_namespaced() {
        // Hybrid (v1 controllers plus a v2 `unified` mount), as on the CI box.
        let cgroup = "4:memory:/x\n1:cpu:/\n0::/\n";
        let mountinfo = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                         41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dirs(cgroup, Some(mountinfo)).unwrap(),
            [PathBuf::from("/sys/fs/cgroup/unified")]
        );
        // A container that bind-mounts its own subtree (mount root not `/`).
        let mountinfo = "1 0 0:5 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dirs("0::/docker/abc/inner\n", Some(mountinfo)).unwrap(),
            ["/sys/fs/cgroup/inner", "/sys/fs/cgroup"].map(PathBuf::from)
        );
        // Escaped spaces in the mount point.
        let mountinfo = "1 0 0:5 / /mnt/cg\\040two - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dirs("0::/a\n", Some(mountinfo)).unwrap(),
            ["/mnt/cg two/a", "/mnt/cg two"].map(PathBuf::from)
        );
        // No mountinfo: the usual place.
        assert_eq!(
            cgroup_dirs("0::/a\n", None).unwrap(),
            ["/sys/fs/cgroup/a", "/sys/fs/cgroup"].map(PathBuf::from)
        );
    }

    #[test]
    fn no_cgroup_v2_means_no_files() {
        // cgroup v1 only: no `0::` line.
        assert_eq!(cgroup_dirs("4:memory:/x\n1:cpu:/\n", None), None);
        // A path outside the mounted subtree.
        let mountinfo = "1 0 0:5 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup_dirs("0::/elsewhere\n", Some(mountinfo)), None);
        // Files that do not exist are not watched.
        let dirs = ["/cg/a", "/cg"].map(PathBuf::from);
        let files = CgroupFiles::in_dirs(&dirs, |p| p == Path::new("/cg/memory.events"));
        assert_eq!(files.events, [PathBuf::from("/cg/memory.events")]);
        assert_eq!(files.pressure, None);
        let none = CgroupFiles::in_dirs(&dirs, |_| false);
        assert!(none.events.is_empty() && none.pressure.is_none());
        // And reading nothing yields no signal.
        assert!(none.events().is_empty());
        assert_eq!(none.psi_some_avg10(), None);
    }
}
