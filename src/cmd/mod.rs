//! One function per subcommand.

mod cohorts;
mod demo;
pub(crate) mod ingest;
mod lake;
mod models;
pub(crate) mod produce;
pub(crate) mod serve;
mod sql;
pub(crate) mod train;

use crate::cli::{Command, LakeCommand};

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Produce(args) => produce::run(args).await,
        Command::Ingest(args) => ingest::run(args).await,
        Command::Sql(args) => sql::run(args).await,
        Command::Cohorts(args) => cohorts::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Train(args) => train::run(args).await,
        Command::Models(args) => models::list(args).await,
        Command::Predict(args) => models::predict(args).await,
        Command::Lake {
            command: LakeCommand::Stats(args),
        } => lake::stats(args).await,
        Command::Lake {
            command: LakeCommand::Compact(args),
        } => lake::compact(args).await,
        Command::Lake {
            command: LakeCommand::Vacuum(args),
        } => lake::vacuum(args).await,
        Command::Lake {
            command: LakeCommand::History(args),
        } => lake::history(args).await,
        Command::Lake {
            command: LakeCommand::Files(args),
        } => lake::files(args).await,
        Command::Lake {
            command: LakeCommand::Migrate(args),
        } => lake::migrate(args).await,
    }
}
