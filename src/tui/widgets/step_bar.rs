//! The wizard's step bar: `1 Name ✓ › 2 Base URL › …`. Its layout is a function of the
//! labels and the area, shared by drawing and by mouse clicks.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::tui::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMark {
    Current,
    Done,
    Invalid,
    Todo,
    /// Not reachable yet (a new connector's later steps).
    Locked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLabel {
    pub number: u8,
    pub label: &'static str,
    pub mark: StepMark,
}

const SEPARATOR: &str = " › ";

fn text(step: &StepLabel) -> String {
    let suffix = match step.mark {
        StepMark::Done => " ✓",
        StepMark::Invalid => " ✗",
        _ => "",
    };
    format!("{} {}{suffix}", step.number, step.label)
}

/// Where each step's text lies, in order; steps that do not fit get an empty rectangle.
pub fn layout(steps: &[StepLabel], area: Rect) -> Vec<Rect> {
    let mut x = area.x + 1;
    steps
        .iter()
        .map(|step| {
            let width = unicode_width::UnicodeWidthStr::width(text(step).as_str()) as u16;
            let rect = if x + width <= area.right() {
                Rect::new(x, area.y, width, 1)
            } else {
                Rect::new(x.min(area.right()), area.y, 0, 0)
            };
            x += width + SEPARATOR.len() as u16 - 2; // "›" is one column wide
            rect
        })
        .collect()
}

pub fn render(steps: &[StepLabel], area: Rect, buf: &mut Buffer, theme: &Theme) {
    let rects = layout(steps, area);
    for (i, (step, rect)) in steps.iter().zip(&rects).enumerate() {
        if rect.width == 0 {
            break;
        }
        let style = match step.mark {
            StepMark::Current => theme.selected,
            StepMark::Invalid => theme.error,
            StepMark::Done => theme.ok,
            StepMark::Todo => theme.label,
            StepMark::Locked => theme.muted,
        };
        buf.set_stringn(rect.x, rect.y, text(step), rect.width as usize, style);
        if i + 1 < steps.len() {
            buf.set_stringn(rect.right(), rect.y, SEPARATOR, 3, theme.muted);
        }
    }
}

/// The step under a click, by number.
pub fn step_at(steps: &[StepLabel], area: Rect, x: u16, y: u16) -> Option<u8> {
    layout(steps, area)
        .iter()
        .zip(steps)
        .find(|(rect, _)| rect.width > 0 && y == rect.y && x >= rect.x && x < rect.right())
        .map(|(_, step)| step.number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_util::lines;

    fn steps() -> Vec<StepLabel> {
        vec![
            StepLabel {
                number: 1,
                label: "Name",
                mark: StepMark::Done,
            },
            StepLabel {
                number: 2,
                label: "URL",
                mark: StepMark::Current,
            },
            StepLabel {
                number: 3,
                label: "Type",
                mark: StepMark::Invalid,
            },
        ]
    }

    #[test]
    fn marks_done_current_and_invalid_steps() {
        let area = Rect::new(0, 0, 30, 1);
        let mut buf = Buffer::empty(area);
        render(&steps(), area, &mut buf, &Theme::monochrome());
        assert_eq!(lines(&buf), [" 1 Name ✓ › 2 URL › 3 Type ✗  "]);
    }

    #[test]
    fn clicks_find_the_step() {
        let area = Rect::new(0, 0, 30, 1);
        assert_eq!(step_at(&steps(), area, 1, 0), Some(1));
        assert_eq!(step_at(&steps(), area, 13, 0), Some(2));
        assert_eq!(step_at(&steps(), area, 10, 0), None, "the separator");
        assert_eq!(step_at(&steps(), area, 22, 0), Some(3));
    }

    #[test]
    fn steps_that_do_not_fit_are_left_off() {
        let area = Rect::new(0, 0, 14, 1);
        let mut buf = Buffer::empty(area);
        render(&steps(), area, &mut buf, &Theme::monochrome());
        assert_eq!(lines(&buf), [" 1 Name ✓ ›   "]);
    }
}
