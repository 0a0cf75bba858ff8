/** Polls `check` until it holds; fails the test with `what` when it does not in time. */
export async function until(check: () => boolean | Promise<boolean>, what = "condition", timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
