"""A TCP proxy on loopback that delays every byte by a fixed time each
way, so that the rig's servers answer as from across a country: a round
trip costs twice the delay, as over the internet, and a client that waits
for each answer pays it each time.

    python3 latency_proxy.py DELAY_MS LISTEN_PORT:[TARGET_HOST:]TARGET_PORT [...]

Listens on 127.0.0.1 only and forwards to 127.0.0.1, or to another
loopback address of the rig (127.0.0.2 offers submission without
PIPELINING). Runs until killed.
"""
import asyncio
import sys

HOST = "127.0.0.1"


async def pump(reader, writer, delay):
    # Bytes keep their order: each chunk waits its own delay from when it
    # arrived, in a queue the writer works through.
    queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
    except ConnectionError:
        queue.put_nowait((loop.time(), b""))
    try:
        await sender
    except ConnectionError:
        pass


async def serve(listen, target_host, target, delay):
    async def connected(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, server_writer, delay),
            pump(server_reader, client_writer, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(connected, HOST, listen)
    async with server:
        await server.serve_forever()


def pair(arg):
    parts = arg.split(":")
    listen, port = int(parts[0]), int(parts[-1])
    host = parts[1] if len(parts) == 3 else HOST
    if not host.startswith("127."):
        raise SystemExit(f"latency_proxy: {host} is not a loopback address")
    return listen, host, port


async def main():
    delay = float(sys.argv[1]) / 1000
    pairs = [pair(arg) for arg in sys.argv[2:]]
    await asyncio.gather(
        *(serve(listen, host, target, delay) for listen, host, target in pairs)
    )


asyncio.run(main())
