//! What the wall knows of the local network, for its axes and hover: the
//! `--local` networks the sources count by, worded as a
//! [`LocalPrefix`]. The model keeps the networks; the renderer only sees
//! the prefix.

use crate::known::LocalPrefix;
use crate::parse::LocalNets;

/// The prefix the address maps' cells belong to, from the local networks
/// (the demo's 127.20.0.0/16 when none were given with demo traffic).
pub fn local_prefix(locals: &LocalNets) -> LocalPrefix {
    let nets: Vec<([u8; 4], u8)> = locals.v4_networks().collect();
    LocalPrefix::from_v4(&nets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_networks_become_the_named_prefix() {
        let nets = LocalNets::parse(&["123.56.104.0/24", "2001:db8::/64"]).expect("valid");
        let p = local_prefix(&nets);
        assert_eq!(p.high, Some([123, 56]));
        assert_eq!(p.rows, [(104, 104)]);
        assert_eq!(local_prefix(&LocalNets::default()), LocalPrefix::default());
    }
}
