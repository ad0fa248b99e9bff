//! Which proxy a request goes through: `HTTPS_PROXY` / `HTTP_PROXY` and `NO_PROXY`, in
//! either case (the lowercase one first, as curl and wget read them).
//!
//! Loopback destinations (`localhost`, 127.0.0.0/8, `::1`) never go through a proxy: the
//! sandbox, a local test provider and the program's own redirect listener live there, and a
//! corporate proxy cannot reach this machine's loopback anyway (Go's net/http and Chromium
//! do the same).

use std::net::IpAddr;

use url::Url;

/// The proxy settings read once from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyRules {
    https: Option<String>,
    http: Option<String>,
    no_proxy: Vec<NoProxyEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxyEntry {
    /// `*`: no proxy for anything.
    All,
    /// `example.com` or `.example.com`: that host and every host under it; an optional port.
    Domain { name: String, port: Option<u16> },
    /// `10.0.0.0/8`, `192.168.1.7`, `::1/128`.
    Network { addr: IpAddr, prefix: u8 },
}

impl ProxyRules {
    /// The rules of this process's environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The rules from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let either = |lower: &str, upper: &str| {
            lookup(lower)
                .or_else(|| lookup(upper))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let no_proxy = either("no_proxy", "NO_PROXY")
            .map(|list| parse_no_proxy(&list))
            .unwrap_or_default();
        Self {
            https: either("https_proxy", "HTTPS_PROXY"),
            http: either("http_proxy", "HTTP_PROXY"),
            no_proxy,
        }
    }

    /// The proxy URL (as configured, credentials included) for `url`, or `None` to connect
    /// directly.
    pub fn proxy_for(&self, url: &Url) -> Option<&str> {
        let host = url.host()?;
        if is_loopback(&host) || self.bypassed(&host, url.port_or_known_default()) {
            return None;
        }
        match url.scheme() {
            "https" => self.https.as_deref(),
            "http" => self.http.as_deref(),
            _ => None,
        }
    }

    fn bypassed(&self, host: &url::Host<&str>, port: Option<u16>) -> bool {
        self.no_proxy.iter().any(|entry| match (entry, host) {
            (NoProxyEntry::All, _) => true,
            (NoProxyEntry::Domain { name, port: want }, url::Host::Domain(h)) => {
                let h = h.to_ascii_lowercase();
                let under = h == *name || h.ends_with(&format!(".{name}"));
                under && want.is_none_or(|p| Some(p) == port)
            }
            (NoProxyEntry::Network { addr, prefix }, url::Host::Ipv4(ip)) => {
                in_network(IpAddr::V4(*ip), *addr, *prefix)
            }
            (NoProxyEntry::Network { addr, prefix }, url::Host::Ipv6(ip)) => {
                in_network(IpAddr::V6(*ip), *addr, *prefix)
            }
            _ => false,
        })
    }
}

/// A proxy URL fit for messages: scheme, host and port, never `user:password@`.
pub fn display_proxy(proxy: &str) -> String {
    match Url::parse(&with_scheme(proxy)) {
        Ok(url) => match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            (Some(host), None) => format!("{}://{host}", url.scheme()),
            _ => "the proxy".to_owned(),
        },
        Err(_) => "the proxy (its URL cannot be read)".to_owned(),
    }
}

/// `proxy.corp:3128` means `http://proxy.corp:3128`, as curl reads it.
pub fn with_scheme(proxy: &str) -> String {
    if proxy.contains("://") {
        proxy.to_owned()
    } else {
        format!("http://{proxy}")
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

fn parse_no_proxy(list: &str) -> Vec<NoProxyEntry> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter_map(parse_entry)
        .collect()
}

fn parse_entry(entry: &str) -> Option<NoProxyEntry> {
    if entry == "*" {
        return Some(NoProxyEntry::All);
    }
    if let Some((addr, prefix)) = entry.split_once('/') {
        let addr: IpAddr = addr.trim_matches(['[', ']']).parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= max)?;
        return Some(NoProxyEntry::Network { addr, prefix });
    }
    if let Ok(addr) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        return Some(NoProxyEntry::Network { addr, prefix });
    }
    let (name, port) = match entry.rsplit_once(':') {
        Some((name, port)) => (name, Some(port.parse::<u16>().ok()?)),
        None => (entry, None),
    };
    let name = name.trim_start_matches("*.").trim_start_matches('.');
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some(NoProxyEntry::Domain { name, port })
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn rules(vars: &[(&str, &str)]) -> ProxyRules {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyRules::from_lookup(|name| map.get(name).cloned())
    }

    fn via<'a>(rules: &'a ProxyRules, url: &str) -> Option<&'a str> {
        rules.proxy_for(&Url::parse(url).unwrap())
    }

    #[test]
    fn each_scheme_takes_its_own_variable_in_either_case() {
        let r = rules(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("http_proxy", "http://plain:8080"),
        ]);
        assert_eq!(
            via(&r, "https://iam.example.com/x"),
            Some("http://upper:3128")
        );
        assert_eq!(
            via(&r, "http://iam.example.com/x"),
            Some("http://plain:8080")
        );
        let both = rules(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
        ]);
        assert_eq!(
            via(&both, "https://a.example.com"),
            Some("http://lower:3128")
        );
        assert_eq!(
            via(&rules(&[("HTTPS_PROXY", " ")]), "https://a.example.com"),
            None
        );
        assert_eq!(via(&rules(&[]), "https://a.example.com"), None);
    }

    #[test]
    fn loopback_is_never_proxied() {
        let r = rules(&[("HTTPS_PROXY", "http://p:1"), ("HTTP_PROXY", "http://p:1")]);
        for url in [
            "http://127.0.0.1:8400/callback",
            "https://127.0.0.2/x",
            "http://localhost:1234/",
            "http://[::1]:80/",
            "https://app.localhost/",
        ] {
            assert_eq!(via(&r, url), None, "{url}");
        }
    }

    #[test]
    fn no_proxy_matches_domains_ports_addresses_and_networks() {
        let r = rules(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "NO_PROXY",
                "corp.example, .internal.test,api.example.com:8443 10.0.0.0/8, 192.168.1.7,[fd00::1]",
            ),
        ]);
        for direct in [
            "https://corp.example/",
            "https://iam.corp.example/",
            "https://x.internal.test/",
            "https://api.example.com:8443/",
            "https://10.1.2.3/",
            "https://192.168.1.7/",
            "https://[fd00::1]/",
        ] {
            assert_eq!(via(&r, direct), None, "{direct}");
        }
        for proxied in [
            "https://notcorp.example/",
            "https://api.example.com/",
            "https://11.0.0.1/",
            "https://192.168.1.8/",
        ] {
            assert_eq!(via(&r, proxied), Some("http://p:1"), "{proxied}");
        }
        let all = rules(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(via(&all, "https://anything.example/"), None);
    }

    #[test]
    fn messages_show_the_proxy_without_its_credentials() {
        assert_eq!(
            display_proxy("http://alice:s3cret@proxy.corp:3128"),
            "http://proxy.corp:3128"
        );
        assert_eq!(display_proxy("proxy.corp:8080"), "http://proxy.corp:8080");
        assert!(!display_proxy("http://alice:s3cret@[bad").contains("s3cret"));
    }
}
