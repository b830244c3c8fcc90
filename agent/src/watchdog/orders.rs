//! What a watcher tells its worker where there are no signals (Windows): one line each on the
//! worker's standard input, a pipe from the watcher. The pipe's end tells the worker that its
//! watcher is gone.

/// An order from the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(windows), allow(dead_code))]
pub enum Order {
    /// Stop, as SIGTERM asks on Unix.
    Stop,
    /// You are being stopped for exceeding a limit, as SIGUSR1 says on Linux.
    Blame,
}

#[cfg_attr(not(windows), allow(dead_code))]
impl Order {
    /// The order's line, without its newline.
    pub fn line(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Blame => "blame",
        }
    }

    /// The order a line gives (its line ending, `\n` or `\r\n`, ignored); `None` for any other.
    pub fn parse(line: &str) -> Option<Self> {
        match line.trim_end_matches(['\r', '\n']) {
            "stop" => Some(Self::Stop),
            "blame" => Some(Self::Blame),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_order_reads_back_from_its_line_and_nothing_else_is_an_order() {
        for order in [Order::Stop, Order::Blame] {
            assert_eq!(Order::parse(order.line()), Some(order));
            assert_eq!(Order::parse(&format!("{}\r\n", order.line())), Some(order));
        }
        assert_eq!(Order::parse("STOP"), None);
        assert_eq!(Order::parse(" stop"), None);
        assert_eq!(Order::parse(""), None);
    }
}
