//! A memory budget shared by the decodes in flight, so that N threads cannot multiply the
//! worst case of one image.
//!
//! [`Limits`](super::Limits) bound one decode (a 256 Mpx image may need about 1 GB); with 8
//! threads that is 8 GB. A [`MemoryBudget`] is a counting semaphore in bytes: each decode
//! reserves its estimated peak (output pixels, decoder working memory and what the caller
//! says it needs beside the pixels) after reading the header and before allocating, and
//! gives it back when the [`MemoryReservation`] is dropped. A request that fits the budget
//! waits, in arrival order, until enough is free (the wait observes cancellation); a request
//! larger than the whole budget is refused at once, so a picture over budget gets an error
//! record instead of an out-of-memory kill, and the outcome never depends on timing or on
//! the thread count.
//!
//! A thread holds at most one reservation at a time (one image is decoded and hashed, then
//! its reservation dropped), so waiting cannot deadlock.
//!
//! Not counted: the file bytes kept for decoding (bounded per file by
//! `AnalyzeOptions::max_image_file_bytes`) and the one spare pixel buffer of at most 64 MiB
//! each thread keeps for reuse (`decode::recycle`).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

/// How often a waiting reservation looks at its cancel flag (setting the flag does not
/// notify the budget's condition variable).
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// A byte budget shared by concurrent decodes. Cheap to clone: clones share one budget.
#[derive(Clone)]
pub struct MemoryBudget {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: u64,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Default)]
struct State {
    in_use: u64,
    high_water: u64,
    /// Tickets of the waiting requests, oldest first: a large request is not starved by a
    /// stream of small ones.
    queue: VecDeque<u64>,
    next_ticket: u64,
}

/// Why [`MemoryBudget::reserve`] gave no reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The request alone is larger than the whole budget: it could never be granted.
    #[error(
        "needs {needed} bytes, more than the whole decode memory budget of {capacity} bytes \
         (raise it with `mh --decode-memory MB` or AnalyzeOptions::decode_memory_budget)"
    )]
    OverBudget {
        /// Bytes requested.
        needed: u64,
        /// The budget's capacity.
        capacity: u64,
    },
    /// The cancel flag was set while the request waited.
    #[error("cancelled while waiting for decode memory")]
    Cancelled,
}

impl MemoryBudget {
    /// A budget of `bytes`, private to this value and its clones.
    pub fn new(bytes: u64) -> Self {
        MemoryBudget {
            inner: Arc::new(Inner {
                capacity: bytes,
                state: Mutex::new(State::default()),
                freed: Condvar::new(),
            }),
        }
    }

    /// The process-wide default budget (one shared instance, created on first use) of
    /// [`default_budget_bytes`] bytes: a quarter of this machine's memory. Analyses whose
    /// options were made by `Default` share it, whichever thread or caller runs them.
    pub fn process_default() -> Self {
        static DEFAULT: OnceLock<MemoryBudget> = OnceLock::new();
        DEFAULT.get_or_init(|| MemoryBudget::new(default_budget_bytes())).clone()
    }

    /// Total bytes the budget grants at once.
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// Bytes currently reserved.
    pub fn in_use(&self) -> u64 {
        self.lock().in_use
    }

    /// The most bytes ever reserved at the same time (never above [`MemoryBudget::capacity`]).
    pub fn high_water(&self) -> u64 {
        self.lock().high_water
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; a poisoned state is still consistent.
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `bytes`, waiting (in arrival order) until they are free. Fails at once with
    /// [`BudgetError::OverBudget`] when `bytes` exceeds the capacity, and with
    /// [`BudgetError::Cancelled`] as soon as `cancel` is seen set (checked before waiting
    /// and every 20 ms while waiting).
    pub fn reserve(
        &self,
        bytes: u64,
        cancel: Option<&AtomicBool>,
    ) -> Result<MemoryReservation, BudgetError> {
        let capacity = self.inner.capacity;
        if bytes > capacity {
            return Err(BudgetError::OverBudget { needed: bytes, capacity });
        }
        let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        if cancelled() {
            return Err(BudgetError::Cancelled);
        }
        if bytes == 0 {
            return Ok(MemoryReservation { budget: None, bytes: 0 });
        }
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push_back(ticket);
        loop {
            if state.queue.front() == Some(&ticket) && capacity - state.in_use >= bytes {
                state.queue.pop_front();
                state.in_use += bytes;
                state.high_water = state.high_water.max(state.in_use);
                // The next in line may fit in what is left.
                self.inner.freed.notify_all();
                return Ok(MemoryReservation { budget: Some(self.clone()), bytes });
            }
            if cancelled() {
                state.queue.retain(|&t| t != ticket);
                self.inner.freed.notify_all();
                return Err(BudgetError::Cancelled);
            }
            state = self
                .inner
                .freed
                .wait_timeout(state, CANCEL_POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn release(&self, bytes: u64) {
        let mut state = self.lock();
        state.in_use -= bytes;
        drop(state);
        self.inner.freed.notify_all();
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// Bytes held from a [`MemoryBudget`] until this value is dropped.
#[must_use = "the memory is given back when the reservation is dropped"]
pub struct MemoryReservation {
    budget: Option<MemoryBudget>,
    bytes: u64,
}

impl MemoryReservation {
    /// A reservation of nothing, from no budget (decodes run without a budget return it).
    pub fn none() -> Self {
        MemoryReservation { budget: None, bytes: 0 }
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        if let Some(budget) = self.budget.take() {
            budget.release(self.bytes);
        }
    }
}

impl fmt::Debug for MemoryReservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReservation").field("bytes", &self.bytes).finish()
    }
}

/// Used when the machine's memory cannot be read: 2 GiB.
const FALLBACK_BUDGET_BYTES: u64 = 2 << 30;

/// The default decode memory budget: a quarter of the memory this process may use, which
/// is the physical memory (`sysconf(_SC_PHYS_PAGES) * _SC_PAGESIZE`) or, when lower, the
/// cgroup memory limit of a container (`/sys/fs/cgroup/memory.max`, or
/// `memory/memory.limit_in_bytes` under cgroup v1). A quarter leaves room for the file bytes
/// being read, the reference sets and everything else. 2 GiB when neither can be read.
/// Computed once per process.
pub fn default_budget_bytes() -> u64 {
    static BYTES: OnceLock<u64> = OnceLock::new();
    *BYTES.get_or_init(|| {
        let limits = [crate::sysinfo::physical_memory(), cgroup_limit()];
        limits.into_iter().flatten().min().map_or(FALLBACK_BUDGET_BYTES, |total| total / 4)
    })
}

fn cgroup_limit() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        // "max" (v2) means no limit; v1 writes a huge number instead, harmless under min().
        .filter_map(|text| text.trim().parse::<u64>().ok())
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_capacity_is_refused_at_once_and_fitting_requests_wait() {
        let budget = MemoryBudget::new(100);
        assert_eq!(
            budget.reserve(101, None).unwrap_err(),
            BudgetError::OverBudget { needed: 101, capacity: 100 }
        );
        let a = budget.reserve(60, None).unwrap();
        assert_eq!(budget.in_use(), 60);
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.reserve(50, None).map(|r| r.bytes()))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(budget.in_use(), 60, "the second request must wait");
        drop(a);
        assert_eq!(waiter.join().unwrap(), Ok(50));
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.high_water(), 60);
    }

    #[test]
    fn a_waiting_request_sees_cancellation() {
        let budget = MemoryBudget::new(10);
        let held = budget.reserve(10, None).unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (budget, cancel) = (budget.clone(), cancel.clone());
            std::thread::spawn(move || budget.reserve(5, Some(&cancel)).map(|r| r.bytes()))
        };
        std::thread::sleep(Duration::from_millis(30));
        let asked = std::time::Instant::now();
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(waiter.join().unwrap(), Err(BudgetError::Cancelled));
        assert!(asked.elapsed() < Duration::from_millis(500));
        drop(held);
        // The cancelled ticket left the queue: later requests are not blocked behind it.
        assert_eq!(budget.reserve(10, None).unwrap().bytes(), 10);
    }

    #[test]
    fn default_is_a_quarter_of_something_real() {
        let bytes = default_budget_bytes();
        assert!(bytes >= 16 << 20, "{bytes}");
        assert_eq!(MemoryBudget::process_default().capacity(), bytes);
    }
}
