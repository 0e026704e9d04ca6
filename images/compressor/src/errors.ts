/** An error whose message is meant for the user (it goes to the failure file as is). */
export class CompressorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompressorError";
  }
}
