//! What the kernel says about a process, for tests that check privileges.

/// The real, effective and saved uid of process `pid` (a number or `self`),
/// when all three agree.
pub fn uid_of(pid: &str) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    let ids: Vec<u32> = line
        .split_whitespace()
        .skip(1)
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect();
    (ids.len() == 3 && ids.iter().all(|&i| i == ids[0])).then(|| ids[0])
}
