//! Throwaway PostgreSQL servers stay private: they listen on no TCP address
//! (`listen_addresses = ''`), only on a unix socket in their own directory, and that directory is
//! mode 0700 (trust authentication is then reachable only by its owner). Skipped, with a message,
//! when PostgreSQL 15 is not installed (`PQSIM_REQUIRE_PG=1` makes that a failure).

mod common;

use pqsim::pg::ThrowawayServer;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Socket inodes the process holds open.
fn socket_inodes(pid: u32) -> Vec<String> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in rd.flatten() {
            if let Ok(target) = std::fs::read_link(e.path()) {
                let t = target.to_string_lossy().into_owned();
                if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    out.push(inode.to_string());
                }
            }
        }
    }
    out
}

/// Inodes of TCP sockets in LISTEN state (st 0A) in /proc/net/tcp and tcp6.
fn tcp_listen_inodes() -> Vec<String> {
    let mut out = vec![];
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && cols[3] == "0A" {
                out.push(cols[9].to_string());
            }
        }
    }
    out
}

#[test]
fn throwaway_server_listens_on_no_tcp_address_and_its_socket_dir_is_private() {
    if !common::pg_or_skip("throwaway_server_listens_on_no_tcp_address_and_its_socket_dir_is_private") {
        return;
    }
    let server = ThrowawayServer::start().expect("start a throwaway server");
    let mut client = server.client().expect("connect over the unix socket");
    let show = |c: &mut postgres::Client, name: &str| -> String {
        c.query_one(format!("SHOW {name}").as_str(), &[]).expect("SHOW").get::<_, String>(0)
    };
    assert_eq!(show(&mut client, "listen_addresses"), "", "no TCP address");
    let sockdir = show(&mut client, "unix_socket_directories");
    assert_eq!(Path::new(&sockdir), server.dir(), "the socket lives in the server's own directory");
    let mode = std::fs::metadata(server.dir()).expect("server dir").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "server dir mode {mode:o}");

    // No TCP socket of the postmaster is listening.
    let pidfile = std::fs::read_to_string(server.dir().join("data/postmaster.pid")).expect("postmaster.pid");
    let pid: u32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
    let listening = tcp_listen_inodes();
    let own = socket_inodes(pid);
    assert!(!own.is_empty(), "the postmaster holds its unix socket");
    let tcp: Vec<&String> = own.iter().filter(|i| listening.contains(i)).collect();
    assert!(tcp.is_empty(), "postmaster {pid} listens on TCP sockets {tcp:?}");
    // And its port number answers nothing on the loopback address.
    let port: u16 = std::fs::read_to_string(server.dir().join("port")).unwrap().trim().parse().unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} answers on 127.0.0.1");
    drop(client);
    server.stop().expect("stop");
}
