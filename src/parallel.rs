//! The one way merge-gates spreads work over cores: a few threads take the next item in turn
//! (so one slow item does not hold up a fixed share of the others) and the results come back in
//! the items' order. Used by the import scan of dev-mcp-ban and the parser of migration-safety's
//! lint; the JSONL reader cuts its blocks from a stream instead and keeps its own loop.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many threads for `items` items when each thread should get at least `per_thread` of them:
/// at most the machine's cores and `max`, at least one.
pub fn threads(items: usize, per_thread: usize, max: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(max).min(items.div_ceil(per_thread.max(1))).max(1)
}

/// `f` over every item on `threads` threads, each with its own `state` (a buffer, say), on
/// stacks of `stack` bytes when given. The result of item `i` is at index `i`; it is `None`
/// only when `f` panicked on that item (the thread that panicked takes no more items; the
/// others go on), so one bad input costs its own result, never the others'.
pub fn map<T: Sync, S, R: Send>(
    items: &[T],
    threads: usize,
    stack: Option<usize>,
    state: impl Fn() -> S + Sync,
    f: impl Fn(&T, &mut S) -> R + Sync,
) -> Vec<Option<R>> {
    let mut results: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    // On this thread: item by item, a panic costing that item only.
    let here = |results: &mut [Option<R>], from: usize| {
        let mut s = state();
        for (slot, item) in results.iter_mut().zip(items).skip(from) {
            *slot = std::panic::catch_unwind(AssertUnwindSafe(|| f(item, &mut s))).ok();
        }
    };
    if threads <= 1 && stack.is_none() {
        here(&mut results, 0);
        return results;
    }
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let (next, done, state, f) = (&next, &done, &state, &f);
                let work = move || {
                    let mut s = state();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let r = f(item, &mut s);
                        lock(done).push((i, r));
                    }
                };
                let mut builder = std::thread::Builder::new();
                if let Some(bytes) = stack {
                    builder = builder.stack_size(bytes);
                }
                builder.spawn_scoped(scope, work)
            })
            .collect();
        // A worker that panicked loses the item it held; one that could not be started
        // leaves its items to the others, or to this thread below.
        for h in handles.into_iter().flatten() {
            let _ = h.join();
        }
    });
    for (i, r) in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
        results[i] = Some(r);
    }
    // Items no worker took (none could be started, or every one panicked) are done here.
    let taken = next.load(Ordering::Relaxed).min(items.len());
    if taken < items.len() {
        here(&mut results, taken);
    }
    results
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_items_order() {
        let items: Vec<usize> = (0..1000).collect();
        let out = map(&items, 4, None, Vec::<u8>::new, |&i, buf| {
            buf.push(0);
            i * 2
        });
        let want: Vec<Option<usize>> = items.iter().map(|i| Some(i * 2)).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn a_panicking_item_costs_only_its_own_result() {
        let items: Vec<usize> = (0..200).collect();
        let out = map(
            &items,
            3,
            None,
            || (),
            |&i, _| {
                if i == 17 {
                    panic!("bad input");
                }
                i
            },
        );
        for (i, r) in out.iter().enumerate() {
            assert_eq!(*r, (i != 17).then_some(i));
        }
    }

    #[test]
    fn a_large_stack_is_given_to_every_worker() {
        // 8 MiB of locals would overflow a default 2 MiB thread stack.
        let out = map(
            &[1usize, 2],
            2,
            Some(64 << 20),
            || (),
            |&i, _| {
                let big = [i as u8; 8 << 20];
                std::hint::black_box(&big)[0] as usize
            },
        );
        assert_eq!(out, vec![Some(1), Some(2)]);
    }

    #[test]
    fn threads_are_bounded_by_items_and_max() {
        assert_eq!(threads(0, 64, 8), 1);
        assert_eq!(threads(10, 64, 8), 1);
        assert!(threads(10_000, 64, 2) <= 2);
    }
}
