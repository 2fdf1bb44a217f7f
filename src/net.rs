//! Address helpers for exposure rules.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses `a.b.c.d/n` or `x::y/n` (a bare address counts as a host route).
pub fn parse_cidr(cidr: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match cidr.trim().split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok()?),
        None => (cidr.trim(), if cidr.contains(':') { 128 } else { 32 }),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// True when the CIDR is the whole IPv4 or IPv6 internet.
pub fn is_whole_internet(cidr: &str) -> bool {
    matches!(parse_cidr(cidr), Some((_, 0)))
}

/// True when the CIDR contains any publicly routable address. Unparseable CIDRs count as
/// public: a scanner must not call an unreadable allow-list safe.
pub fn is_public_cidr(cidr: &str) -> bool {
    let Some((ip, len)) = parse_cidr(cidr) else {
        return true;
    };
    match ip {
        IpAddr::V4(v4) => !within_v4_non_public(v4, len),
        IpAddr::V6(v6) => !within_v6_non_public(v6, len),
    }
}

fn within_v4_non_public(ip: Ipv4Addr, len: u8) -> bool {
    const RANGES: &[(Ipv4Addr, u8)] = &[
        (Ipv4Addr::new(10, 0, 0, 0), 8),
        (Ipv4Addr::new(172, 16, 0, 0), 12),
        (Ipv4Addr::new(192, 168, 0, 0), 16),
        (Ipv4Addr::new(100, 64, 0, 0), 10),
        (Ipv4Addr::new(127, 0, 0, 0), 8),
        (Ipv4Addr::new(169, 254, 0, 0), 16),
    ];
    let addr = u32::from(ip);
    RANGES.iter().any(|(net, net_len)| {
        len >= *net_len && {
            let mask = u32::MAX.checked_shl(32 - u32::from(*net_len)).unwrap_or(0);
            addr & mask == u32::from(*net) & mask
        }
    })
}

fn within_v6_non_public(ip: Ipv6Addr, len: u8) -> bool {
    const RANGES: &[(u128, u8)] = &[
        (0xfc00 << 112, 7),  // unique local
        (0xfe80 << 112, 10), // link local
        (1, 128),            // loopback
    ];
    let addr = u128::from(ip);
    RANGES.iter().any(|(net, net_len)| {
        len >= *net_len && {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(*net_len))
                .unwrap_or(0);
            addr & mask == net & mask
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ranges() {
        assert!(is_public_cidr("0.0.0.0/0"));
        assert!(is_public_cidr("203.0.113.0/24"));
        assert!(is_public_cidr("8.8.8.8"));
        assert!(!is_public_cidr("10.0.0.0/8"));
        assert!(!is_public_cidr("172.20.1.0/24"));
        // A supernet of a private range also holds public addresses.
        assert!(is_public_cidr("10.0.0.0/7"));
        assert!(!is_public_cidr("fd00::/8"));
        assert!(is_public_cidr("2001:db8::/32"));
        assert!(is_public_cidr("not-a-cidr"));
        assert!(is_whole_internet("::/0"));
        assert!(!is_whole_internet("1.0.0.0/1"));
    }
}
