/** A run's result, or its failure with the whole cause chain in one message (activity errors sit deep in it). */
export async function withCauses<T>(result: Promise<T>): Promise<T> {
  return result.catch((error: unknown) => {
    const messages: string[] = [];
    for (let e = error as Error | undefined; e; e = e.cause as Error | undefined) messages.push(e.message);
    throw new Error(messages.join(' <- '));
  });
}
