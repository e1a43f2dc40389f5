//! The one place timers live: frame pacing, presenter auto-advance and the
//! expiry of on-screen notices. The event loop sleeps until the earliest
//! deadline; nothing else spawns a timer thread. Time is passed in, so the
//! schedule is tested without waiting.

use std::time::Instant;

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Draw the next frame.
    Frame,
    /// Presenter mode: step to the next map.
    PresenterAdvance,
    /// Take a notice (e.g. "screenshot saved") off the screen.
    NoticeExpiry,
}

/// Pending deadlines, at most one per topic.
#[derive(Debug, Default)]
pub struct Scheduler {
    timers: Vec<(Topic, Instant)>,
}

impl Scheduler {
    /// An empty schedule.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or moves) `topic`'s deadline to `at`.
    pub fn schedule(&mut self, topic: Topic, at: Instant) {
        self.cancel(topic);
        self.timers.push((topic, at));
    }

    /// Forgets `topic`'s deadline, if any.
    pub fn cancel(&mut self, topic: Topic) {
        self.timers.retain(|(t, _)| *t != topic);
    }

    /// Whether `topic` has a deadline.
    pub fn is_scheduled(&self, topic: Topic) -> bool {
        self.timers.iter().any(|(t, _)| *t == topic)
    }

    /// The earliest deadline: how long the event loop may sleep.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().map(|(_, at)| *at).min()
    }

    /// Removes and returns every topic due at `now`, earliest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<Topic> {
        let mut due: Vec<(Topic, Instant)> =
            self.timers.iter().copied().filter(|(_, at)| *at <= now).collect();
        due.sort_by_key(|(_, at)| *at);
        self.timers.retain(|(_, at)| *at > now);
        due.into_iter().map(|(t, _)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_topics_come_out_once_in_order() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Scheduler::new();
        s.schedule(Topic::PresenterAdvance, t0 + ms(20));
        s.schedule(Topic::Frame, t0 + ms(16));
        s.schedule(Topic::NoticeExpiry, t0 + ms(3000));
        assert_eq!(s.next_deadline(), Some(t0 + ms(16)));
        assert!(s.take_due(t0 + ms(10)).is_empty());
        assert_eq!(s.take_due(t0 + ms(25)), [Topic::Frame, Topic::PresenterAdvance]);
        assert!(s.take_due(t0 + ms(25)).is_empty());
        assert_eq!(s.next_deadline(), Some(t0 + ms(3000)));
    }

    #[test]
    fn rescheduling_moves_and_cancel_removes() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        s.schedule(Topic::Frame, t0 + Duration::from_secs(5));
        s.schedule(Topic::Frame, t0 + Duration::from_secs(1));
        assert_eq!(s.next_deadline(), Some(t0 + Duration::from_secs(1)));
        s.cancel(Topic::Frame);
        assert!(!s.is_scheduled(Topic::Frame));
        assert_eq!(s.next_deadline(), None);
    }
}
