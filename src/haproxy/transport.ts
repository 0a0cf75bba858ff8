import { readFile, stat } from "node:fs/promises";
import { connect, isIP, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { HaproxyError } from "../errors.js";
import { parseTarget } from "../model/target.js";
import { socketAccessAdvice } from "./socket-access.js";

/** The `haproxy.tls` files: read on every connection, so a rotated certificate is used by the next run. */
export interface RuntimeTlsFiles {
  ca: string;
  cert?: string | undefined;
  key?: string | undefined;
  serverName?: string | undefined;
}

export interface TransportOptions {
  timeoutMs: number;
  tls?: RuntimeTlsFiles | undefined;
}

/** OpenSSL and Node codes for a handshake or certificate failure, as opposed to a plain network error. */
export function isTlsFailure(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? "";
  return /^ERR_SSL_|^ERR_TLS_|CERT|^UNABLE_TO_|^DEPTH_ZERO|^SELF_SIGNED|^HOSTNAME_MISMATCH/.test(code) || /SSL|TLS|certificate/i.test(err.message);
}

/** Opens the byte stream to a runtime API: a unix socket, plain TCP, or mutual TLS. Nothing is sent yet. */
export async function openTransport(target: string, options: TransportOptions): Promise<Socket> {
  const address = parseTarget(target);
  if (!address) throw new HaproxyError("E_HAPROXY_TARGET", target, "expected unix:///path, tcp://host:port or tls://host:port");
  if (address.kind !== "tls") {
    const socket = address.kind === "unix" ? connect({ path: address.path }) : connect({ host: address.host, port: address.port });
    return await established(target, socket, "connect", options.timeoutMs);
  }
  const files = await readTlsFiles(target, options.tls);
  let socket: Socket;
  try {
    socket = connectTls({
      host: address.host,
      port: address.port,
      ...files,
      servername: options.tls?.serverName ?? (isIP(address.host) ? undefined : address.host),
      minVersion: "TLSv1.2",
      rejectUnauthorized: true,
    });
  } catch (err) {
    // OpenSSL refuses the files before any connection: not PEM, or a key that is not the certificate's (a half-done rotation).
    throw new HaproxyError(
      "E_HAPROXY_TLS_FILES",
      target,
      `haproxy.tls: ${options.tls?.cert ?? ""} / ${options.tls?.key ?? ""} / ${options.tls?.ca ?? ""} cannot be used: ${(err as Error).message}${/mismatch/i.test((err as Error).message) ? " (the key is not the certificate's: was only one of them replaced?)" : ""}`,
      { cause: err },
    );
  }
  return await established(target, socket, "secureConnect", options.timeoutMs);
}

async function readTlsFiles(target: string, tls: RuntimeTlsFiles | undefined): Promise<{ ca: Buffer; cert?: Buffer; key?: Buffer }> {
  if (!tls) throw new HaproxyError("E_HAPROXY_TLS_FILES", target, "a tls:// target needs haproxy.tls (ca, cert, key)");
  const read = async (key: string, path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new HaproxyError("E_HAPROXY_TLS_FILES", target, `haproxy.tls.${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
        cause: err,
      });
    }
  };
  const ca = await read("ca", tls.ca);
  if (tls.cert === undefined || tls.key === undefined) return { ca };
  return { ca, cert: await read("cert", tls.cert), key: await read("key", tls.key) };
}

/** Resolves once the socket is usable (`ready`), within the connect deadline; a TLS failure gets its own code. */
function established(target: string, socket: Socket, ready: "connect" | "secureConnect", timeoutMs: number): Promise<Socket> {
  let reached = false;
  socket.once("connect", () => (reached = true));
  return new Promise<Socket>((resolve, reject) => {
    const fail = (error: HaproxyError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => {
      if (ready === "secureConnect" && reached)
        fail(new HaproxyError("E_HAPROXY_TLS", target, `no TLS handshake within ${timeoutMs} ms (is the peer a TLS listener?)`));
      else fail(new HaproxyError("E_HAPROXY_CONNECT", target, `connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      if (ready === "secureConnect" && (reached || isTlsFailure(err))) {
        fail(new HaproxyError("E_HAPROXY_TLS", target, `TLS handshake failed: ${describeTlsError(err)}`, { cause: err }));
        return;
      }
      clearTimeout(timer);
      void describeConnectError(target, err).then((why) => fail(new HaproxyError("E_HAPROXY_CONNECT", target, `cannot connect: ${why}`, { cause: err })));
    });
  });
}

export function describeTlsError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ERR_SSL_WRONG_VERSION_NUMBER":
    case "ERR_SSL_PACKET_LENGTH_TOO_LONG":
    case "ECONNRESET":
      return `the peer does not speak TLS (${err.code}): is this a plaintext socket behind a tls:// address?`;
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return `the server's certificate is not signed by haproxy.tls.ca (${err.code})`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return "the server's certificate is not for this name (set haproxy.tls.serverName to a name it holds)";
    case "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED":
    case "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE":
      return `the listener requires a client certificate (${err.code}): set haproxy.tls.cert and key`;
    case "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE":
    case "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA":
      return `the listener refused our client certificate (${err.code}): is it signed by the CA in the listener's ca-file?`;
    default:
      return `${err.code ?? "error"}: ${err.message}`;
  }
}

/** Why a connection failed, in words that point at the fix: missing, not a socket, refused, or not allowed. */
async function describeConnectError(target: string, err: NodeJS.ErrnoException): Promise<string> {
  const address = parseTarget(target);
  const path = address?.kind === "unix" ? address.path : undefined;
  switch (err.code) {
    case "ENOENT":
      return "socket file does not exist (is HAProxy running with this stats socket?)";
    case "EACCES":
    case "EPERM":
      return path ? await socketAccessAdvice(path, err.code) : "permission denied";
    case "ECONNREFUSED": {
      const info = path ? await stat(path).catch(() => undefined) : undefined;
      if (info && !info.isSocket())
        return `${path} is not a socket but a ${info.isDirectory() ? "directory" : "regular file"}: is haproxy.sockets pointing at the right path?`;
      return path
        ? "connection refused: the socket file exists but nothing listens on it (HAProxy stopped, or it is a stale file)"
        : "connection refused (nothing listening)";
    }
    case "ENOTSOCK":
      return `${path ?? target} is not a socket: is haproxy.sockets pointing at the right path?`;
    default:
      return err.message;
  }
}
