import { listenOnLoopback } from "./listen.js";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
}

/** What to do with each request, in turn; the last one repeats. `hang` never answers. */
export type Reply = number | "hang";

/** Full control over a response, for feed servers; return false to fall back to `replies`. */
export type Handler = (request: ReceivedRequest, res: ServerResponse) => boolean | undefined | void;

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  replies: Reply[];
  stop: () => Promise<void>;
}

/** A real node:http server on loopback that records every request it gets. */
export async function startReceiver(replies: Reply[] = [200], handler?: Handler): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const receiver = { replies };
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json };
      requests.push(received);
      if (handler && handler(received, res) !== false) return;
      const reply = receiver.replies[Math.min(requests.length - 1, receiver.replies.length - 1)] ?? 200;
      if (reply === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(reply, { "content-type": "text/plain" });
      res.end(reply < 300 ? "ok" : `status ${reply}`);
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get replies() {
      return receiver.replies;
    },
    set replies(next: Reply[]) {
      receiver.replies = next;
    },
    stop: close,
  };
}
