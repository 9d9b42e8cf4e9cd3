//! Progress of a long `horao-pack` run, on stderr only (stdout carries the table or JSON):
//! a bar with instances done, the current class, elapsed time and ETA when stderr is a
//! terminal, and one line per finished class in every case.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::runner::Record;

/// What one class has produced so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassTally {
    /// The class name.
    pub class: String,
    /// Results recorded (instance × algorithm).
    pub results: u64,
    /// Results proven optimal by the solver's own bound.
    pub proven: u64,
    /// Results at the best known value.
    pub at_best_known: u64,
    /// Packing time, microseconds.
    pub micros: u64,
}

impl ClassTally {
    /// The line printed when the class is finished.
    pub fn line(&self, files_done: usize, files: usize, elapsed: Duration) -> String {
        format!(
            "{}: {} result(s), {} proven, {} at best known, {:.1} s packing; {}/{} files after {:.0} s",
            self.class,
            self.results,
            self.proven,
            self.at_best_known,
            self.micros as f64 / 1e6,
            files_done,
            files,
            elapsed.as_secs_f64()
        )
    }
}

/// The progress display of one run.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    files: usize,
    done: usize,
    current: Option<ClassTally>,
}

impl Progress {
    /// Progress over `files` files; the bar is drawn only when `terminal` (stderr is one).
    pub fn new(files: usize, terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} {msg} (ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            files,
            done: 0,
            current: None,
        }
    }

    /// A file of `class` is about to run; a change of class finishes the previous one.
    pub fn start(&mut self, class: &str) {
        if self.current.as_ref().is_some_and(|c| c.class != class) {
            self.finish_class();
        }
        if self.current.is_none() {
            self.current = Some(ClassTally {
                class: class.to_owned(),
                ..ClassTally::default()
            });
            if let Some(bar) = &self.bar {
                bar.set_message(class.to_owned());
            }
        }
    }

    /// Counts one result of the current class.
    pub fn record(&mut self, record: &Record) {
        if let Some(tally) = &mut self.current {
            tally.results += 1;
            tally.proven += u64::from(record.proven);
            tally.at_best_known += u64::from(record.at_best_known);
            tally.micros += record.micros;
        }
    }

    /// One more file is done.
    pub fn file_done(&mut self) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Prints the line of the current class, if any.
    fn finish_class(&mut self) {
        if let Some(tally) = self.current.take() {
            let line = tally.line(self.done, self.files, self.started.elapsed());
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    }

    /// Ends the run: the last class's line, and the bar is cleared.
    pub fn finish(&mut self) {
        self.finish_class();
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_line_names_its_counts() {
        let tally = ClassTally {
            class: "Hard28".into(),
            results: 28,
            proven: 23,
            at_best_known: 25,
            micros: 12_340_000,
        };
        assert_eq!(
            tally.line(40, 100, Duration::from_secs(61)),
            "Hard28: 28 result(s), 23 proven, 25 at best known, 12.3 s packing; 40/100 files after 61 s"
        );
    }
}
