//! A second thread for `rampart scan`, started before its work is known: on a virtual machine
//! whose other vCPU sleeps, starting a thread takes from a tenth of a millisecond to several,
//! and a scan's whole matching takes a few. `main` starts it before it reads the command line;
//! the scan hands it the knowledge base's state read, then a share of the matching.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a thread waits awake (spinning) for the other before it sleeps: a vCPU that has
/// slept for more than a fraction of a millisecond can take a millisecond or more to be
/// scheduled again.
const AWAKE_WAIT: Duration = Duration::from_millis(25);

/// A work item for the spare thread.
pub type Job = Box<dyn FnOnce() + Send>;

/// The thread and the jobs handed to it. Its thread starts with [`Spare::started`], or with
/// the first job handed over; it runs the jobs in the order given, waiting for the next awake
/// (at most [`AWAKE_WAIT`] after the last, then asleep), until the spare is finished or
/// dropped.
#[derive(Default)]
pub struct Spare {
    shared: Arc<Shared>,
    thread: std::cell::OnceCell<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    jobs: Mutex<VecDeque<Job>>,
    finished: AtomicBool,
}

impl Spare {
    /// A spare whose thread starts now.
    pub fn started() -> Spare {
        let spare = Spare::default();
        spare.thread();
        spare
    }

    fn thread(&self) -> &std::thread::Thread {
        self.thread
            .get_or_init(|| {
                let shared = Arc::clone(&self.shared);
                std::thread::spawn(move || shared.serve())
            })
            .thread()
    }

    /// Hands `job` over, after the jobs handed before it.
    pub fn hand(&self, job: Job) {
        self.shared.jobs().push_back(job);
        self.thread().unpark();
    }

    /// The last job handed over, if the spare thread has not started it (busy with an earlier
    /// one): the caller runs it itself.
    fn take_back(&self) -> Option<Job> {
        self.shared.jobs().pop_back()
    }

    /// Lets the thread end once the jobs handed over are done.
    pub fn finish(&self) {
        self.shared.finished.store(true, Ordering::Release);
        if let Some(thread) = self.thread.get() {
            thread.thread().unpark();
        }
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Shared {
    fn jobs(&self) -> std::sync::MutexGuard<'_, VecDeque<Job>> {
        // A job runs outside the lock: a poisoned queue is still a whole queue.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn serve(&self) {
        let mut since = Instant::now();
        loop {
            let job = self.jobs().pop_front();
            if let Some(job) = job {
                job();
                since = Instant::now();
            } else if self.finished.load(Ordering::Acquire) {
                return;
            } else if since.elapsed() < AWAKE_WAIT {
                std::hint::spin_loop();
            } else {
                std::thread::park();
            }
        }
    }
}

/// Runs `first` here and `second`, if any, on the spare thread (or here, after `first`, when
/// the spare has not started it). Waits for the second awake (spinning, at most
/// [`AWAKE_WAIT`]) rather than asleep; a panic in it is resumed here.
pub fn in_two<A, B: Send + 'static>(
    first: impl FnOnce() -> A,
    second: Option<impl FnOnce() -> B + Send + 'static>,
    spare: &Spare,
) -> (A, Option<B>) {
    let Some(second) = second else {
        return (first(), None);
    };
    let (sender, receiver) = mpsc::sync_channel(1);
    spare.hand(Box::new(move || {
        let _ = sender.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            second,
        )));
    }));
    let first = first();
    if let Some(job) = spare.take_back() {
        job();
    }
    let started = Instant::now();
    let second = loop {
        match receiver.try_recv() {
            Ok(second) => break second,
            Err(mpsc::TryRecvError::Empty) if started.elapsed() < AWAKE_WAIT => {
                std::hint::spin_loop()
            }
            // The job sends before it ends, whichever thread runs it.
            Err(_) => match receiver.recv() {
                Ok(second) => break second,
                Err(_) => unreachable!("the second's job sends its result"),
            },
        }
    };
    match second {
        Ok(second) => (first, Some(second)),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_run_beside_a_job_handed_earlier() {
        let spare = Spare::started();
        let (sender, done) = mpsc::channel();
        spare.hand(Box::new(move || sender.send("state").unwrap()));
        let (first, second) = in_two(|| 1, Some(move || 2), &spare);
        assert_eq!((first, second), (1, Some(2)));
        assert_eq!(done.recv().unwrap(), "state");
    }

    #[test]
    fn the_caller_runs_the_second_half_when_the_spare_is_busy() {
        let spare = Spare::started();
        let (release, busy) = mpsc::channel::<()>();
        spare.hand(Box::new(move || {
            let _ = busy.recv();
        }));
        let caller = std::thread::current().id();
        let (_, second) = in_two(|| (), Some(move || std::thread::current().id()), &spare);
        assert_eq!(second, Some(caller));
        release.send(()).unwrap();
    }

    #[test]
    fn a_spare_without_a_thread_yet_gets_the_second_half_done() {
        let spare = Spare::default();
        let (_, second) = in_two(|| 0, Some(|| "done"), &spare);
        assert_eq!(second, Some("done"));
    }

    #[test]
    fn a_panic_in_the_second_half_reaches_the_caller() {
        let spare = Spare::started();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            in_two(|| (), Some(|| -> () { panic!("second half") }), &spare)
        }));
        assert!(outcome.is_err());
    }
}
