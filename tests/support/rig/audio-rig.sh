#!/usr/bin/env bash
# audio-rig.sh - headless PulseAudio for tests and CI (adapted from the project's shared rig recipe) (root, no systemd, no dbus, no stdin, no sound card):
#   sink "speakers" (loopback source = speakers.monitor), virtual microphone source "mic"
#   (fed through sink "micsink").
#   bash audio-rig.sh start                  # server + devices, returns when ready (~3 s)
#   bash audio-rig.sh play MIC.wav SPK.wav   # loop MIC.wav into "mic", SPK.wav into "speakers"
#   bash audio-rig.sh stop                   # stop players + server, by PID
# Every client (pactl, paplay, ffmpeg -f pulse, sounddevice via ALSA "pulse"/"default") needs
#   export PULSE_SERVER=unix:$RIG_DIR/pulse/native
# apt: pulseaudio pulseaudio-utils libportaudio2 sox espeak-ng ffmpeg (--no-install-recommends)
set -euo pipefail
RIG_DIR=${RIG_DIR:-${TMPDIR:-/tmp}/audio-rig}
export PULSE_RUNTIME_PATH=$RIG_DIR/pulse PULSE_STATE_PATH=$RIG_DIR/pulse/state
export PULSE_SERVER=unix:$RIG_DIR/pulse/native

alive() {  # a killed daemon reparented to PID 1 lingers as a zombie for a while; kill -0 succeeds on it
  local st; st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $st != Z* ]]
}

start() {
  if [[ -f $RIG_DIR/pulse.pid ]] && alive "$(cat "$RIG_DIR/pulse.pid")"; then
    echo "already running (pid $(cat "$RIG_DIR/pulse.pid"))"; return 0; fi
  mkdir -p "$RIG_DIR/pulse"; chmod 700 "$RIG_DIR/pulse"; rm -f "$RIG_DIR/pulse/native" "$RIG_DIR/pulse/cli"
  # -n: skip default.pa (no udev/dbus/restore/suspend-on-idle modules); load only what we need.
  pulseaudio -n --daemonize=no --use-pid-file=no --exit-idle-time=-1 --disallow-exit=yes \
    --log-target=file:"$RIG_DIR/pulse.log" --log-level=info \
    -L "module-native-protocol-unix socket=$RIG_DIR/pulse/native auth-anonymous=1" \
    -L "module-cli-protocol-unix socket=$RIG_DIR/pulse/cli" \
    -L "module-null-sink sink_name=speakers rate=48000 channels=2 sink_properties=device.description=Speakers" \
    -L "module-null-sink sink_name=micsink rate=48000 channels=1 channel_map=mono sink_properties=device.description=MicFeed" \
    -L "module-remap-source source_name=mic master=micsink.monitor channels=1 channel_map=mono master_channel_map=mono source_properties=device.description=VirtualMic" \
    </dev/null >"$RIG_DIR/pulse.out" 2>&1 &
  echo $! >"$RIG_DIR/pulse.pid"
  local ok=0
  for _ in $(seq 100); do                       # wait up to 10 s for the socket to answer
    if pactl info >/dev/null 2>&1; then ok=1; break; fi
    alive "$(cat "$RIG_DIR/pulse.pid")" || break
    sleep 0.1
  done
  if [[ $ok != 1 ]]; then echo "pulseaudio failed to start" >&2; cat "$RIG_DIR/pulse.out" "$RIG_DIR/pulse.log" >&2; return 1; fi
  pactl set-default-sink speakers
  pactl set-default-source mic
  # Keep-alive: one silent stream per sink. Without it an idle null sink renders in 2 s blocks, and a
  # capture stream opened on its monitor gets its first data 0-2 s late. 100 ms, not 20: an idle rig
  # cost 5.6 % of a core with 20 ms streams, 1.6 % with 100 ms (CI runs four rigs for ten minutes); a
  # stream that asks for less (players, capture) sets the sink's latency while it is open.
  local s
  for s in speakers micsink; do
    pacat --playback --raw --format=s16le --rate=48000 --channels=1 --latency-msec=100 \
      --device=$s --client-name=keepalive-$s /dev/zero </dev/null >"$RIG_DIR/keep-$s.log" 2>&1 &
    echo $! >"$RIG_DIR/keep-$s.pid"
  done
  sleep 2.5   # let the sinks finish the 2 s block they were in
  # Optional: named ALSA PCMs for PortAudio, seen by processes run with XDG_CONFIG_HOME=$RIG_DIR/xdg
  mkdir -p "$RIG_DIR/xdg/alsa"
  printf '%s\n' 'pcm.rig_mic { type pulse device "mic" hint { show on description "Rig microphone" } }' \
    'pcm.rig_loopback { type pulse device "speakers.monitor" hint { show on description "Rig loopback" } }' \
    >"$RIG_DIR/xdg/alsa/asoundrc"
  echo "pulseaudio pid $(cat "$RIG_DIR/pulse.pid"); export PULSE_SERVER=$PULSE_SERVER"
}

play() {  # play MIC_WAV SPK_WAV: each file looped ~60 times (0.5 s gap) into its sink
  sox "$1" "$RIG_DIR/mic_loop.wav" pad 0 0.5 repeat 59
  sox "$2" "$RIG_DIR/spk_loop.wav" pad 0 0.5 repeat 59
  paplay --latency-msec=50 --device=micsink "$RIG_DIR/mic_loop.wav" </dev/null >"$RIG_DIR/play-mic.log" 2>&1 &
  echo $! >"$RIG_DIR/play-mic.pid"
  paplay --latency-msec=50 --device=speakers "$RIG_DIR/spk_loop.wav" </dev/null >"$RIG_DIR/play-spk.log" 2>&1 &
  echo $! >"$RIG_DIR/play-spk.pid"
  for _ in $(seq 50); do [[ $(pactl list short sink-inputs | wc -l) -ge 4 ]] && break; sleep 0.1; done
  pactl list short sink-inputs
}

stop() {
  local f pid
  for f in play-mic play-spk keep-speakers keep-micsink pulse; do
    [[ -f $RIG_DIR/$f.pid ]] || continue
    pid=$(cat "$RIG_DIR/$f.pid"); rm -f "$RIG_DIR/$f.pid"
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -9 "$pid"; fi
  done
  return 0
}

case ${1:-start} in
  start) start ;;
  play) play "$2" "$3" ;;
  stop) stop ;;
  *) echo "usage: $0 start | play MIC.wav SPK.wav | stop" >&2; exit 2 ;;
esac
