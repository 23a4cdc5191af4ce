//! One function per subcommand.

mod ingest;
mod lake;
mod produce;

use crate::cli::{Command, LakeCommand};

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Produce(args) => produce::run(args).await,
        Command::Ingest(args) => ingest::run(args).await,
        Command::Lake {
            command: LakeCommand::Stats(args),
        } => lake::stats(args).await,
    }
}
