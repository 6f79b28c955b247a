//! Which connections the server takes, and which it closes to make room,
//! so that one client cannot hold it: each peer address may hold at most
//! `--max-connections-per-peer` connections, and when a cap is reached the
//! connection that has waited longest for a request's headers (a slow or
//! silent client, or an idle keep-alive), if it has waited at least
//! [`GRACE`], is closed before a new one is refused or made to wait. A
//! connection with a request in progress, or taken over by a websocket, is
//! never closed for room.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a connection must have waited for headers before it may be
/// closed for room: a client that means to send a request sends it at once,
/// so a fresh connection (or one just back from an answer) is left alone.
pub(crate) const GRACE: Duration = Duration::from_secs(1);

use tokio_util::sync::CancellationToken;

/// The open connections, by peer, and those waiting for headers.
#[derive(Clone, Default)]
pub(crate) struct Admission {
    table: Arc<Mutex<Table>>,
}

#[derive(Default)]
struct Table {
    next: u64,
    /// Open connections (websockets included) per peer address.
    per_peer: HashMap<IpAddr, usize>,
    /// Connections with no request in progress, oldest wait first.
    waiting: BTreeMap<u64, Waiting>,
}

struct Waiting {
    connection: u64,
    peer: IpAddr,
    close: CancellationToken,
    since: Instant,
}

/// What to do with a new connection from a peer at its cap.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PeerRoom {
    /// Under its cap.
    Room,
    /// At its cap: its connection that waited longest for headers was
    /// closed (its slot comes free in a moment).
    MadeRoom,
    /// Every one of its connections has a request in progress or began
    /// waiting for headers less than [`GRACE`] ago.
    Full,
}

impl Admission {
    /// Makes room for one more connection from `peer` under `cap` (0: no
    /// cap) by closing its connection that has waited longest for headers.
    pub(crate) fn room_for(&self, peer: IpAddr, cap: usize) -> PeerRoom {
        let mut table = self.table.lock().expect("admission lock");
        if cap == 0 || table.per_peer.get(&peer).copied().unwrap_or(0) < cap {
            return PeerRoom::Room;
        }
        let oldest = table
            .waiting
            .iter()
            .find(|(_, w)| w.peer == peer)
            .filter(|(_, w)| w.since.elapsed() >= GRACE)
            .map(|(at, _)| *at);
        match oldest {
            Some(at) => {
                table.close(at);
                PeerRoom::MadeRoom
            }
            None => PeerRoom::Full,
        }
    }

    /// Closes the connection, of any peer, that has waited longest for
    /// headers (at least [`GRACE`]); `false` if there is none.
    pub(crate) fn close_oldest_waiting(&self) -> bool {
        let mut table = self.table.lock().expect("admission lock");
        let oldest = table
            .waiting
            .iter()
            .next()
            .filter(|(_, w)| w.since.elapsed() >= GRACE)
            .map(|(at, _)| *at);
        match oldest {
            Some(at) => {
                table.close(at);
                true
            }
            None => false,
        }
    }

    /// Registers a new connection from `peer`, waiting for its first
    /// request; the returned handle is told when it is closed for room.
    pub(crate) fn admit(&self, peer: IpAddr) -> Admitted {
        let mut table = self.table.lock().expect("admission lock");
        *table.per_peer.entry(peer).or_default() += 1;
        let connection = table.next;
        let close = CancellationToken::new();
        table.wait(connection, peer, close.clone());
        Admitted {
            admission: self.clone(),
            connection,
            peer,
            close,
        }
    }
}

impl Table {
    fn wait(&mut self, connection: u64, peer: IpAddr, close: CancellationToken) {
        let at = self.next;
        self.next += 1;
        self.waiting.insert(
            at,
            Waiting {
                connection,
                peer,
                close,
                since: Instant::now(),
            },
        );
    }

    /// Closes a waiting connection; it stops counting against its peer at
    /// once (its task ends a moment later).
    fn close(&mut self, at: u64) {
        if let Some(waiting) = self.waiting.remove(&at) {
            tracing::debug!(peer = %waiting.peer, "closing a connection that is waiting for headers, to make room");
            waiting.close.cancel();
            self.uncount(waiting.peer);
        }
    }

    fn uncount(&mut self, peer: IpAddr) {
        if let Some(count) = self.per_peer.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&peer);
            }
        }
    }

    fn stop_waiting(&mut self, connection: u64) -> bool {
        let at = self
            .waiting
            .iter()
            .find(|(_, w)| w.connection == connection)
            .map(|(at, _)| *at);
        at.is_some_and(|at| self.waiting.remove(&at).is_some())
    }
}

/// One admitted connection. Dropping it forgets the connection's wait; its
/// place in its peer's count is held by [`PeerSlot`] (which a websocket
/// keeps after the connection is handed over).
pub(crate) struct Admitted {
    admission: Admission,
    connection: u64,
    peer: IpAddr,
    close: CancellationToken,
}

impl Admitted {
    /// Cancelled when the connection is closed to make room.
    pub(crate) fn closed_for_room(&self) -> CancellationToken {
        self.close.clone()
    }

    /// Holds the peer's count until dropped (or closed for room).
    pub(crate) fn peer_slot(&self) -> PeerSlot {
        PeerSlot {
            admission: self.admission.clone(),
            peer: self.peer,
            close: self.close.clone(),
        }
    }

    /// A request's headers arrived: the connection is busy, and not closed
    /// for room, until the returned guard is dropped. `None` if it was
    /// already closed for room (the request is refused).
    pub(crate) fn busy(&self) -> Option<Busy> {
        let mut table = self.admission.table.lock().expect("admission lock");
        if self.close.is_cancelled() {
            return None;
        }
        table.stop_waiting(self.connection);
        Some(Busy {
            admission: self.admission.clone(),
            connection: self.connection,
            peer: self.peer,
            close: self.close.clone(),
            waits_again: true,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut table = self.admission.table.lock().expect("admission lock");
        table.stop_waiting(self.connection);
    }
}

/// A request in progress on a connection.
pub(crate) struct Busy {
    admission: Admission,
    connection: u64,
    peer: IpAddr,
    close: CancellationToken,
    waits_again: bool,
}

impl Busy {
    /// The connection was taken over (a websocket): it never waits for
    /// headers again.
    pub(crate) fn taken_over(mut self) {
        self.waits_again = false;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.waits_again && !self.close.is_cancelled() {
            let mut table = self.admission.table.lock().expect("admission lock");
            table.wait(self.connection, self.peer, self.close.clone());
        }
    }
}

/// A peer's place in its count of open connections.
pub(crate) struct PeerSlot {
    admission: Admission,
    peer: IpAddr,
    close: CancellationToken,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut table = self.admission.table.lock().expect("admission lock");
        // A connection closed for room stopped counting then.
        if !self.close.is_cancelled() {
            table.uncount(self.peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    /// As if every waiting connection had waited past the grace.
    fn age(admission: &Admission) {
        let mut table = admission.table.lock().unwrap();
        for waiting in table.waiting.values_mut() {
            waiting.since -= GRACE;
        }
    }

    #[test]
    fn a_peer_at_its_cap_loses_its_longest_waiting_connection_first() {
        let admission = Admission::default();
        let first = admission.admit(ip(2));
        let _first_slot = first.peer_slot();
        let second = admission.admit(ip(2));
        let _second_slot = second.peer_slot();
        let _other = admission.admit(ip(3));
        assert_eq!(
            admission.room_for(ip(2), 2),
            PeerRoom::Full,
            "fresh connections are left alone"
        );
        age(&admission);
        assert_eq!(admission.room_for(ip(2), 2), PeerRoom::MadeRoom);
        assert!(first.closed_for_room().is_cancelled());
        assert!(!second.closed_for_room().is_cancelled());
        assert!(
            first.busy().is_none(),
            "a closed connection takes no request"
        );
        // Another peer under its cap is not touched.
        assert_eq!(admission.room_for(ip(3), 2), PeerRoom::Room);
    }

    #[test]
    fn busy_connections_are_never_closed_for_room() {
        let admission = Admission::default();
        let one = admission.admit(ip(2));
        let _slot = one.peer_slot();
        let busy = one.busy().unwrap();
        assert_eq!(admission.room_for(ip(2), 1), PeerRoom::Full);
        assert!(!admission.close_oldest_waiting());
        drop(busy);
        // Idle again: it may go, once it has waited past the grace.
        assert!(!admission.close_oldest_waiting());
        age(&admission);
        assert!(admission.close_oldest_waiting());
        assert!(one.closed_for_room().is_cancelled());
    }

    #[test]
    fn a_taken_over_connection_never_waits_again_and_its_slot_counts_until_dropped() {
        let admission = Admission::default();
        let one = admission.admit(ip(2));
        let slot = one.peer_slot();
        one.busy().unwrap().taken_over();
        drop(one);
        assert_eq!(admission.room_for(ip(2), 1), PeerRoom::Full);
        drop(slot);
        assert_eq!(admission.room_for(ip(2), 1), PeerRoom::Room);
    }
}
