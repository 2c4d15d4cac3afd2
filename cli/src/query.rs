//! `sigtrail checkpoint`, `get` and `search`: reading the log.

use sigtrail_client::{Client, SearchQuery};

use crate::args::{CheckpointArgs, GetArgs, SearchArgs};
use crate::classify;

/// Results asked for per search page.
const PAGE: u32 = 1000;

/// `sigtrail checkpoint`: fetch, verify, print.
pub(crate) async fn checkpoint(args: &CheckpointArgs) -> anyhow::Result<()> {
    let policy = crate::trust::policy(&args.trust)?;
    let client = Client::new(&args.log)?;
    let signed = client.checkpoint().await?;
    let checkpoint = policy.verify_checkpoint(&signed).map_err(classify)?;
    let text = String::from_utf8_lossy(&signed);
    if args.json {
        let out = serde_json::json!({
            "origin": checkpoint.origin,
            "size": checkpoint.head.size,
            "root": checkpoint.head.root.to_string(),
            "checkpoint": text,
        });
        println!("{out}");
    } else {
        print!("{text}");
        eprintln!(
            "verified: {} at tree size {}",
            checkpoint.origin, checkpoint.head.size
        );
    }
    Ok(())
}

/// `sigtrail get`.
pub(crate) async fn get(args: &GetArgs) -> anyhow::Result<()> {
    let entry = Client::new(&args.log)?.entry(args.index).await?;
    if args.json {
        println!("{}", serde_json::to_string(&entry)?);
    } else {
        println!("index     {}", entry.index);
        println!("leaf hash {}", entry.leaf_hash);
        println!("subject   {}", entry.subject);
        println!("name      {}", entry.name);
        println!("key       {}", entry.key);
        println!("time      {}", entry.time);
    }
    Ok(())
}

/// `sigtrail search`: every page, in index order.
pub(crate) async fn search(args: &SearchArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.log)?;
    let mut query = SearchQuery {
        key: args.key.clone(),
        subject: args.subject.clone(),
        name: args.name.clone(),
        after: None,
        limit: Some(PAGE),
    };
    loop {
        let page = client.search(&query).await?;
        for hit in &page.entries {
            if args.json {
                println!("{}", serde_json::to_string(hit)?);
            } else {
                println!("{} {} {} {}", hit.index, hit.subject, hit.name, hit.key);
            }
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(()),
        }
    }
}
