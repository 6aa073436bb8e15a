"""The point's microphone and speaker as configured (``pulse``), through PyAV's ALSA input and output, against
a private PulseAudio with null sinks: what is played into the room's microphone reaches the call, and what
the call plays comes out of the room's speaker."""

from __future__ import annotations

import asyncio
import math
import os
import struct
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from etapiste.config.point import Audio
from kiosk.media import AudioDeviceError, ToneTrack, open_microphone, open_speaker
from simulation.services.common import Service, require_program, running


@pytest.fixture
def pulse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A private PulseAudio: sink ``speaker`` (the room's speaker), sink ``room`` whose monitor is remapped as
    the default source ``mic`` (the room's microphone). Only this test's clients can reach its socket."""
    program = require_program("pulseaudio")
    require_program("pacat")
    run = tmp_path / "pulse-run"
    run.mkdir(mode=0o700)
    (tmp_path / "home").mkdir()
    socket = run / "native"
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), HOME=str(tmp_path / "home"))
    argv = [
        program, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes", "--use-pid-file=no",
        "-L", f"module-native-protocol-unix auth-anonymous=1 socket={socket}",
        "-L", "module-null-sink sink_name=speaker",
        "-L", "module-null-sink sink_name=room",
        "-L", "module-remap-source source_name=mic master=room.monitor",
        "-L", "module-default-device-restore",
    ]  # fmt: skip
    service = Service("pulseaudio", argv, tmp_path / "pulse.log", env=env, cwd=tmp_path)
    with running(service, socket.exists, timeout=10):
        server = f"unix:{socket}"
        monkeypatch.setenv("PULSE_SERVER", server)
        subprocess.run(["pactl", "set-default-sink", "speaker"], check=True, env=dict(env, PULSE_SERVER=server))
        subprocess.run(["pactl", "set-default-source", "mic"], check=True, env=dict(env, PULSE_SERVER=server))
        yield dict(env, PULSE_SERVER=server)


def tone_wav(path: Path, hz: float = 440.0, seconds: float = 3.0, rate: int = 48000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate)))
                               for i in range(int(rate * seconds))))
    return path


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


async def test_what_is_said_in_the_room_reaches_the_call_through_the_configured_microphone(pulse, tmp_path):
    player = subprocess.Popen(["paplay", "--device=room", str(tone_wav(tmp_path / "voice.wav"))], env=pulse)
    try:
        mic = open_microphone(Audio(microphone="pulse"))
        chunks = []
        for _ in range(60):  # ~1.2 s of 20 ms frames
            frame = await asyncio.wait_for(mic.recv(), 5)
            chunks.append(frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0].astype(float))
            rate = frame.sample_rate
        mic.stop()
    finally:
        player.wait(10)
    heard = np.concatenate(chunks[-30:])
    assert np.sqrt(np.mean(heard**2)) > 500  # not silence
    assert abs(dominant_hz(heard, rate) - 440) < 10


async def test_what_the_agent_says_comes_out_of_the_configured_speaker(pulse, tmp_path):
    recorder = subprocess.Popen(
        ["pacat", "--record", "--device=speaker.monitor", "--format=s16le", "--rate=48000", "--channels=1",
         "--latency-msec=20", "--raw", str(tmp_path / "room.raw")],
        env=pulse,
    )
    try:
        speaker = open_speaker(Audio(speaker="pulse"))
        speaker.addTrack(ToneTrack())  # stands for the agent's voice arriving on the call
        await speaker.start()
        await asyncio.sleep(1.5)
        await speaker.stop()
        await asyncio.sleep(0.3)
    finally:
        recorder.terminate()
        recorder.wait(10)
    out = np.frombuffer((tmp_path / "room.raw").read_bytes(), dtype="<i2").astype(float)
    sound = out[np.abs(out) > 0]
    assert len(sound) > 4800  # at least 0.1 s of it reached the room (the rest may sit in buffers)
    assert np.sqrt(np.mean(sound**2)) > 500
    assert abs(dominant_hz(sound[:4800], 48000) - 440) < 15


def test_a_microphone_that_does_not_exist_is_a_clear_error_for_staff(pulse):
    with pytest.raises(AudioDeviceError, match="no-such-device"):
        open_microphone(Audio(microphone="no-such-device"))


async def test_the_staff_microphone_test_hears_the_room_and_reports_only_a_level(pulse, tmp_path):
    from kiosk.health import check_microphone

    player = subprocess.Popen(["paplay", "--device=room", str(tone_wav(tmp_path / "voice.wav"))], env=pulse)
    try:
        loud = await check_microphone(Audio(microphone="pulse"), seconds=1.5)
    finally:
        player.wait(10)
    quiet = await check_microphone(Audio(microphone="pulse"), seconds=0.5)
    assert loud.health == "ok" and loud.reason.startswith("level ")
    assert quiet.health == "ok"
    loud_db = int(loud.reason.split()[1])
    quiet_db = int(quiet.reason.split()[1])
    assert loud_db > quiet_db + 20  # the room's sound is heard, silence is not


def streams(pulse: dict[str, str], kind: str = "sink-inputs") -> int:
    """How many clients' streams are playing into (``sink-inputs``) or recording from (``source-outputs``) the
    private sound server (not the server's own, such as the remapped microphone's)."""
    out = subprocess.run(["pactl", "list", "short", kind], check=True, env=pulse, capture_output=True,
                         text=True).stdout
    return len([line for line in out.splitlines() if "protocol-native" in line])


@pytest.mark.usefixtures("loopback_ice")
async def test_each_calls_speaker_and_microphone_are_released_when_the_call_ends(pulse: dict[str, str]) -> None:
    # The agent's voice is played through the configured speaker for the length of the call. The speaker was
    # never stopped: each call left its sound stream open (on an ALSA hardware device, the next call's
    # speaker could not open it, and the next customer heard nothing). The microphone is checked alike.
    from kiosk.call import CallEnded
    from kiosk.media import MediaConfig, PatternSource
    from simulation.call import connected_call
    from simulation.switchboard import serve

    media = MediaConfig(video=PatternSource(160, 120), width=160, height=120,
                        audio=lambda: open_microphone(Audio(microphone="pulse")),
                        speaker=lambda: open_speaker(Audio(speaker="pulse")))
    async with serve() as sb:
        for call in range(2):
            async with connected_call(sb, media=media) as (engine, events, _agent):
                for _ in range(100):  # the agent's voice is playing in the room, the room's is heard
                    await asyncio.sleep(0.05)
                    if streams(pulse) == 1 and streams(pulse, "source-outputs") == 1:
                        break
                assert streams(pulse) == 1, f"call {call + 1}: the agent's voice is not playing"
                assert streams(pulse, "source-outputs") == 1, f"call {call + 1}: the microphone is not open"
                task = engine.hang_up()
                assert task is not None
                await task
                await events.first(CallEnded)
            for _ in range(100):
                await asyncio.sleep(0.05)
                if streams(pulse) == 0 and streams(pulse, "source-outputs") == 0:
                    break
            assert streams(pulse) == 0, f"call {call + 1} ended with its speaker still playing"
            assert streams(pulse, "source-outputs") == 0, f"call {call + 1} ended with its microphone still open"


@pytest.mark.usefixtures("loopback_ice")
async def test_a_participant_announced_twice_leaves_one_speaker_playing_not_two(pulse: dict[str, str]) -> None:
    # The switchboard announces the agent again mid-call (as after a failover, or a duplicated frame): the point
    # offers afresh. The connection it replaced was never closed, and its speaker kept a sound stream open for
    # the rest of the kiosk's life (two streams from then on; on an ALSA device, no sound for the new one).
    from etapiste import protocol as p
    from kiosk.media import MediaConfig, PatternSource
    from simulation.call import connected_call
    from simulation.switchboard import serve
    from simulation.waiting import polled

    media = MediaConfig(video=PatternSource(160, 120), width=160, height=120,
                        speaker=lambda: open_speaker(Audio(speaker="pulse")))  # fmt: skip
    async with serve() as sb, connected_call(sb, media=media) as (engine, _events, _agent):
        for _ in range(100):
            await asyncio.sleep(0.05)
            if streams(pulse) == 1:
                break
        assert streams(pulse) == 1, "the agent's voice is not playing"
        (agent_id,) = engine.peers
        first = engine.peers[agent_id]
        point = next(part for part in sb.hub.participants.values() if part.role == "point")
        agent = sb.hub.participants[agent_id]
        await point.send(p.PeerJoined(call=engine.call, peer=p.Peer(id=agent_id, role="agent", name=agent.name),
                                      offer=True))  # fmt: skip
        fresh = await polled(lambda: engine.peers[agent_id] is not first and engine.peers[agent_id].speakers
                             and engine.peers[agent_id], "the fresh connection to the agent playing its voice", 30)
        assert fresh.pc.connectionState in ("connecting", "connected")
        # The replaced connection's speaker is released (it was not: "2 sound streams" a few seconds later).
        await polled(lambda: not first.speakers and first.pc.connectionState == "closed",
                     "the replaced connection closed with its speaker", 10)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if streams(pulse) == 1:
                break
        assert streams(pulse) == 1, f"{streams(pulse)} sound streams play the agent's voice"
