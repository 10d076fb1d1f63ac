//! The client's address as the rate limits see it: the socket peer, or the address that a trusted proxy wrote into
//! `X-Forwarded-For`, reduced to what one client controls (an IPv4 address, an IPv6 /64).
//!
//! Every proxy appends the address it received the request from to the right end of `X-Forwarded-For`; whatever is
//! left of the entries our own proxies added was written by the client and proves nothing. So the header is read
//! from the right: a configured number of hops back, or past every entry inside the trusted proxy networks.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;
use shared::config::RateLimitSettings;

/// Which proxies in front of the api are believed; built once from the settings.
#[derive(Debug, Clone, Default)]
pub struct ProxyTrust {
    /// Entries to go back from the right of `X-Forwarded-For`; 0 walks over `networks` instead.
    hops: usize,
    /// When set, only a peer inside them is a proxy, and (without `hops`) the walk skips entries inside them.
    networks: Vec<IpNet>,
}

impl ProxyTrust {
    pub fn new(hops: u32, networks: Vec<IpNet>) -> Self {
        Self { hops: hops as usize, networks }
    }

    pub fn from_settings(settings: &RateLimitSettings) -> Self {
        Self::new(settings.effective_proxy_hops(), settings.trusted_proxy_networks())
    }

    fn is_proxy(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// Whether the socket peer is one of our proxies, so that the header it passes on can be read at all.
    fn trusts_peer(&self, peer: IpAddr) -> bool {
        if self.networks.is_empty() { self.hops > 0 } else { self.is_proxy(peer) }
    }

    /// The client's address for a request from `peer` carrying these `X-Forwarded-For` field values, in the order
    /// received. Anything unexpected (a missing or short header, an entry that is no address) gives the peer: a
    /// request can then never pick its own key, at worst it shares the proxy's.
    pub fn client_address(&self, peer: IpAddr, forwarded_for: &[&[u8]]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts_peer(peer) {
            return peer;
        }
        // A proxy may add its own field line instead of extending the last one; together they are one list.
        let mut entries = forwarded_for.iter().rev().flat_map(|value| value.rsplit(|byte| *byte == b','));
        let client = if self.hops > 0 {
            entries.nth(self.hops.saturating_sub(1)).and_then(parse_entry)
        } else {
            let mut leftmost_proxy = None;
            let mut client = None;
            for entry in entries {
                match parse_entry(entry) {
                    Some(ip) if self.is_proxy(ip) => leftmost_proxy = Some(ip),
                    found => {
                        client = Some(found);
                        break;
                    }
                }
            }
            // Every entry was one of ours: the request started inside the proxy networks.
            client.unwrap_or(leftmost_proxy)
        };
        client.unwrap_or(peer)
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:80`, `[2001:db8::1]:443`) or in
/// brackets. Read as bytes, so that a non-ASCII entry written by the client cannot spoil the ones a proxy added.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse::<Ipv6Addr>().ok().map(IpAddr::V6))?;
    Some(ip.to_canonical())
}

/// The caller as the rate limits key it: an IPv4 address, or the /64 of an IPv6 address (one subscriber usually
/// gets a whole /64 and can pick any address in it). An IPv4-mapped IPv6 address is its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(IpAddr);

impl ClientIp {
    pub fn new(ip: IpAddr) -> Self {
        Self(match ip.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
            v4 => v4,
        })
    }
}

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Any state that hands out the [`ProxyTrust`] (the application's does): this module stays below the state.
impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    Arc<ProxyTrust>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Without connection info (a router called in-process) the caller is local.
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let forwarded: Vec<&[u8]> = parts.headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()).collect();
        Ok(Self::new(Arc::<ProxyTrust>::from_ref(state).client_address(peer, &forwarded)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    const PEER: &str = "10.0.0.2";

    fn client(trust: &ProxyTrust, headers: &[&str]) -> IpAddr {
        let values: Vec<&[u8]> = headers.iter().map(|h| h.as_bytes()).collect();
        trust.client_address(ip(PEER), &values)
    }

    #[test]
    fn without_trust_the_header_is_ignored() {
        let trust = ProxyTrust::default();
        assert_eq!(client(&trust, &["203.0.113.7"]), ip(PEER));
        assert_eq!(client(&trust, &[]), ip(PEER));
    }

    #[test]
    fn one_hop_takes_the_rightmost_entry_never_the_leftmost() {
        let trust = ProxyTrust::new(1, vec![]);
        assert_eq!(client(&trust, &["203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(client(&trust, &["6.6.6.6, 203.0.113.7"]), ip("203.0.113.7"), "the client wrote 6.6.6.6");
        assert_eq!(client(&trust, &["6.6.6.6,203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(client(&trust, &["  203.0.113.7  "]), ip("203.0.113.7"));
    }

    #[test]
    fn several_hops_count_from_the_right() {
        let trust = ProxyTrust::new(2, vec![]);
        assert_eq!(client(&trust, &["6.6.6.6, 203.0.113.7, 198.51.100.1"]), ip("203.0.113.7"));
        // Fewer entries than proxies: the request did not come the configured way.
        assert_eq!(client(&trust, &["203.0.113.7"]), ip(PEER));
        assert_eq!(client(&trust, &[]), ip(PEER));
    }

    #[test]
    fn several_field_lines_are_one_list() {
        let trust = ProxyTrust::new(2, vec![]);
        assert_eq!(client(&trust, &["6.6.6.6", "203.0.113.7, 198.51.100.1"]), ip("203.0.113.7"));
        assert_eq!(client(&trust, &["6.6.6.6, 203.0.113.7", "198.51.100.1"]), ip("203.0.113.7"));
    }

    #[test]
    fn malformed_entries_fall_back_to_the_peer() {
        let trust = ProxyTrust::new(1, vec![]);
        for header in ["unknown", "", " ", ",", "203.0.113.7,", "_hidden", "300.1.1.1", "1.2.3", "fe80::1%eth0", "[::1"]
        {
            assert_eq!(client(&trust, &[header]), ip(PEER), "{header:?}");
        }
        // A malformed entry left of the one we read does not matter.
        assert_eq!(client(&trust, &["garbage, 203.0.113.7"]), ip("203.0.113.7"));
        let values: Vec<&[u8]> = vec![b"\xff\xfe, 203.0.113.7"];
        assert_eq!(trust.client_address(ip(PEER), &values), ip("203.0.113.7"), "non-UTF-8 bytes left of it");
        let values: Vec<&[u8]> = vec![b"203.0.113.\xff"];
        assert_eq!(trust.client_address(ip(PEER), &values), ip(PEER));
    }

    #[test]
    fn entries_with_ports_or_brackets_are_addresses() {
        let trust = ProxyTrust::new(1, vec![]);
        assert_eq!(client(&trust, &["203.0.113.7:4711"]), ip("203.0.113.7"));
        assert_eq!(client(&trust, &["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(client(&trust, &["[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(client(&trust, &["2001:db8::1"]), ip("2001:db8::1"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let trust = ProxyTrust::new(1, vec![]);
        assert_eq!(client(&trust, &["::ffff:203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(ProxyTrust::default().client_address(ip("::ffff:10.0.0.2"), &[]), ip(PEER));
    }

    #[test]
    fn trusted_networks_walk_from_the_right_to_the_first_outsider() {
        let trust = ProxyTrust::new(0, nets(&["10.0.0.0/8", "2001:db8:ffff::/48"]));
        assert_eq!(client(&trust, &["6.6.6.6, 203.0.113.7, 10.1.1.1, 10.2.2.2"]), ip("203.0.113.7"));
        assert_eq!(client(&trust, &["6.6.6.6, 203.0.113.7, 2001:db8:ffff::5"]), ip("203.0.113.7"));
        assert_eq!(client(&trust, &["203.0.113.7"]), ip("203.0.113.7"));
        // A client that claims to be one of our proxies is still read past.
        assert_eq!(client(&trust, &["10.9.9.9, 203.0.113.7"]), ip("203.0.113.7"));
        // Only proxies: the request came from inside.
        assert_eq!(client(&trust, &["10.3.3.3, 10.1.1.1"]), ip("10.3.3.3"));
        assert_eq!(client(&trust, &[]), ip(PEER));
        assert_eq!(client(&trust, &["unknown, 10.1.1.1"]), ip(PEER), "malformed before any outsider");
    }

    #[test]
    fn a_peer_outside_the_trusted_networks_is_the_client() {
        let trust = ProxyTrust::new(0, nets(&["192.168.0.0/16"]));
        assert_eq!(client(&trust, &["203.0.113.7"]), ip(PEER));
        let trust = ProxyTrust::new(1, nets(&["192.168.0.0/16"]));
        assert_eq!(client(&trust, &["203.0.113.7"]), ip(PEER), "hops apply only behind a trusted peer");
        let trust = ProxyTrust::new(1, nets(&["10.0.0.0/24"]));
        assert_eq!(client(&trust, &["6.6.6.6, 203.0.113.7"]), ip("203.0.113.7"));
        let trust = ProxyTrust::new(0, nets(&["::ffff:0:0/96"]));
        assert_eq!(client(&trust, &["203.0.113.7"]), ip(PEER), "a mapped peer is compared as IPv4");
    }

    #[test]
    fn the_settings_map_trust_forwarded_for_to_one_hop() {
        let mut settings = RateLimitSettings {
            rate_limit_enabled: true,
            rate_limit_window_secs: 60,
            rate_limit_login_per_ip: 1,
            rate_limit_login_per_account_and_ip: 1,
            rate_limit_login_per_account: 1,
            rate_limit_change_password_per_ip: 1,
            rate_limit_change_password_per_account_and_ip: 1,
            rate_limit_change_password_per_account: 1,
            rate_limit_reset_complete_per_ip: 1,
            rate_limit_reset_complete_per_account_and_ip: 1,
            rate_limit_reset_complete_per_account: 1,
            rate_limit_register_per_ip: 1,
            rate_limit_password_reset_per_ip: 1,
            rate_limit_password_reset_per_account: 1,
            rate_limit_resend_activation_per_ip: 1,
            rate_limit_resend_activation_per_account: 1,
            trust_forwarded_for: false,
            trusted_proxy_hops: 0,
            trusted_proxies: String::new(),
        };
        assert_eq!(client(&ProxyTrust::from_settings(&settings), &["6.6.6.6, 203.0.113.7"]), ip(PEER));
        settings.trust_forwarded_for = true;
        assert_eq!(client(&ProxyTrust::from_settings(&settings), &["6.6.6.6, 203.0.113.7"]), ip("203.0.113.7"));
        settings.trusted_proxy_hops = 2;
        assert_eq!(client(&ProxyTrust::from_settings(&settings), &["6.6.6.6, 203.0.113.7"]), ip("6.6.6.6"));
        settings.trusted_proxy_hops = 0;
        settings.trusted_proxies = " 10.0.0.0/8 , ,2001:db8::1".into();
        let trust = ProxyTrust::from_settings(&settings);
        assert_eq!(client(&trust, &["6.6.6.6, 203.0.113.7, 10.4.4.4"]), ip("203.0.113.7"));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a = ClientIp::new(ip("2001:db8:1:2::1"));
        let b = ClientIp::new(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let other = ClientIp::new(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(ClientIp::new(ip("::ffff:203.0.113.7")).to_string(), "203.0.113.7");
        assert_eq!(ClientIp::new(ip("203.0.113.7")).to_string(), "203.0.113.7");
    }
}
