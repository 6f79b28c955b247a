//! Runs kinesalite and dynalite for a benchmark or a manual try:
//! `emulators serve STREAM...` creates the streams, prints
//! `AWS_ENDPOINT_URL_KINESIS=...` and `AWS_ENDPOINT_URL_DYNAMODB=...`, and
//! runs until stdin closes; `emulators count ENDPOINT STREAM` prints how many
//! records the stream holds.

use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let emulators = inlet_e2e::start_emulators().await;
            let client = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
            for stream in &args[1..] {
                inlet_e2e::create_stream(&client, stream, 2).await;
            }
            println!("AWS_ENDPOINT_URL_KINESIS={}", emulators.kinesis_endpoint);
            println!("AWS_ENDPOINT_URL_DYNAMODB={}", emulators.dynamodb_endpoint);
            let mut sink = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut sink).await;
        }
        Some("count") if args.len() == 3 => {
            let client = inlet_e2e::kinesis_client(&args[1]);
            println!("{}", inlet_e2e::read_stream(&client, &args[2]).await.len());
        }
        _ => {
            eprintln!("usage: emulators serve STREAM... | emulators count ENDPOINT STREAM");
            std::process::exit(2);
        }
    }
}
