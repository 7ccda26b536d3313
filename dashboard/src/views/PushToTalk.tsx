// Push-to-talk in the sandbox chat: hold the button, speak into the browser's microphone,
// release: the recording (mono, resampled to the 48 kHz the sandbox member's sender takes, as a
// 16-bit WAV) goes to POST /api/sandbox/speak and the member says it in the voice call.

import { type PointerEvent, useRef, useState } from "react";
import { ApiFailure } from "../api/client";
import type { ApiErrorBody, SaidAloud } from "../api/types";

export const SEND_RATE = 48_000;

type Recording = {
  stream: MediaStream;
  context: AudioContext;
  source: MediaStreamAudioSourceNode;
  node: ScriptProcessorNode;
  chunks: Float32Array[];
};

/** Linear-interpolation resampling of mono samples. */
export function resample(input: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return input;
  const out = new Float32Array(Math.floor((input.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const pos = i * step;
    const j = Math.floor(pos);
    const k = Math.min(j + 1, input.length - 1);
    out[i] = input[j] + (input[k] - input[j]) * (pos - j);
  }
  return out;
}

/** A 16-bit PCM mono WAV of `samples` (floats in -1..1). */
export function encodeWav(samples: Float32Array, rate: number): ArrayBuffer {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (at: number, s: string) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); // bytes per second
  view.setUint16(32, 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((v, i) => view.setInt16(44 + i * 2, Math.round(Math.max(-1, Math.min(1, v)) * 32767), true));
  return buffer;
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function PushToTalk({
  author,
  onSpoken,
  onError,
}: {
  author: string;
  onSpoken: (said: SaidAloud) => void;
  onError: (message: string) => void;
}) {
  const recording = useRef<Recording | null>(null);
  const starting = useRef(false);
  const released = useRef(false);
  const [state, setState] = useState<"idle" | "recording" | "sending">("idle");

  const send = async (r: Recording) => {
    r.node.disconnect();
    r.source.disconnect();
    r.stream.getTracks().forEach((t) => t.stop());
    const rate = r.context.sampleRate;
    await r.context.close();
    const samples = resample(concat(r.chunks), rate, SEND_RATE);
    setState("sending");
    try {
      const response = await fetch(`/api/sandbox/speak?author_id=${encodeURIComponent(author)}`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "audio/wav" },
        body: encodeWav(samples, SEND_RATE),
      });
      const body = (await response.json()) as SaidAloud | (ApiErrorBody & Record<string, unknown>);
      if (!response.ok) throw new ApiFailure(response.status, body as ApiErrorBody & Record<string, unknown>);
      onSpoken(body as SaidAloud);
    } catch (e) {
      onError(e instanceof ApiFailure ? e.message : `push-to-talk failed: ${String(e)}`);
    } finally {
      setState("idle");
    }
  };

  const press = async (event: PointerEvent<HTMLButtonElement>) => {
    event.currentTarget.setPointerCapture(event.pointerId);
    if (recording.current || starting.current || state === "sending") return;
    starting.current = true;
    released.current = false;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      const context = new AudioContext();
      const source = context.createMediaStreamSource(stream);
      const node = context.createScriptProcessor(4096, 1, 1);
      const chunks: Float32Array[] = [];
      node.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
      source.connect(node);
      node.connect(context.destination); // a ScriptProcessor only runs when connected
      if (context.state !== "running") await context.resume(); // "recording" only once it runs
      recording.current = { stream, context, source, node, chunks };
      setState("recording");
      if (released.current) await release(); // let go while the microphone was opening
    } catch (e) {
      onError(`no microphone: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      starting.current = false;
    }
  };

  const release = async () => {
    released.current = true;
    const r = recording.current;
    if (!r) return;
    recording.current = null;
    await send(r);
  };

  const label = state === "recording" ? "Recording… release to send" : state === "sending" ? "Sending…" : "Hold to talk";
  return (
    <button
      type="button"
      className={`ptt ${state}`}
      data-testid="chat-ptt"
      data-state={state}
      disabled={!author || state === "sending"}
      title="Hold to speak into the voice call from your microphone, as the member you speak as"
      onPointerDown={press}
      onPointerUp={release}
      onPointerCancel={release}
    >
      {label}
    </button>
  );
}
