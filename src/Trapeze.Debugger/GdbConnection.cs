using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Trapeze.Debugger;

/// <summary>What the connection hands the server: a packet, Ctrl-C, or the end of the connection.</summary>
internal abstract record GdbInput;
internal sealed record PacketInput(byte[] Data) : GdbInput;
internal sealed record InterruptInput : GdbInput;
internal sealed record ClosedInput : GdbInput;

/// <summary>
/// The remote serial protocol's framing over one socket: $data#checksum packets, '+' acknowledgements
/// (until QStartNoAckMode), and the lone 0x03 byte of Ctrl-C. A reader thread turns bytes into inputs.
/// </summary>
internal sealed class GdbConnection : IDisposable
{
    private readonly Socket socket;
    private readonly Lock sendGate = new();

    private GdbConnection(Socket socket)
    {
        this.socket = socket;
    }

    public BlockingCollection<GdbInput> Inputs { get; } = [];

    public bool Acknowledge { get; set; } = true;

    /// <summary>A listening socket on HOST:PORT, or on a Unix socket path (anything else).</summary>
    public static Socket Listen(string address)
    {
        Socket listener;
        var colon = address.LastIndexOf(':');
        if (colon > 0 && int.TryParse(address[(colon + 1)..], out var port) && !address.Contains('/'))
        {
            var host = address[..colon];
            var ip = host is "" or "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
            listener = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(ip, port));
        }
        else
        {
            if (File.Exists(address))
                File.Delete(address);
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(address));
        }
        listener.Listen(1);
        return listener;
    }

    public static GdbConnection Accept(Socket listener)
    {
        var socket = listener.Accept();
        if (socket.AddressFamily != AddressFamily.Unix)
            socket.NoDelay = true;
        var connection = new GdbConnection(socket);
        new Thread(connection.ReadLoop) { IsBackground = true, Name = "gdb connection" }.Start();
        return connection;
    }

    private void ReadLoop()
    {
        var buffer = new byte[65536];
        var packet = new List<byte>();
        var state = 0; // 0 between packets, 1 in data, 2 and 3 in the checksum
        try
        {
            while (true)
            {
                var count = socket.Receive(buffer);
                if (count <= 0)
                    break;
                for (var i = 0; i < count; i++)
                {
                    var b = buffer[i];
                    switch (state)
                    {
                        case 0:
                            if (b == 0x03)
                                Inputs.Add(new InterruptInput());
                            else if (b == (byte)'$')
                            {
                                packet.Clear();
                                state = 1;
                            }
                            break;
                        case 1:
                            if (b == (byte)'#')
                                state = 2;
                            else
                                packet.Add(b);
                            break;
                        case 2:
                            state = 3;
                            break;
                        default:
                            state = 0;
                            if (Acknowledge)
                                SendRaw("+"u8);
                            Inputs.Add(new PacketInput([.. packet]));
                            break;
                    }
                }
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        Inputs.Add(new ClosedInput());
    }

    /// <summary>Sends one packet; binary data is escaped (}, $, # and * as 0x7d, byte ^ 0x20).</summary>
    public void Send(ReadOnlySpan<byte> data)
    {
        var framed = new List<byte>(data.Length + 8) { (byte)'$' };
        byte sum = 0;
        foreach (var b in data)
        {
            if (b is (byte)'}' or (byte)'$' or (byte)'#' or (byte)'*')
            {
                framed.Add((byte)'}');
                framed.Add((byte)(b ^ 0x20));
                sum += (byte)('}' + (b ^ 0x20));
            }
            else
            {
                framed.Add(b);
                sum += b;
            }
        }
        framed.Add((byte)'#');
        framed.AddRange(Encoding.ASCII.GetBytes(sum.ToString("x2")));
        SendRaw([.. framed]);
    }

    public void Send(string text) => Send(Encoding.Latin1.GetBytes(text));

    private void SendRaw(ReadOnlySpan<byte> bytes)
    {
        lock (sendGate)
        {
            try
            {
                socket.Send(bytes);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public void Dispose()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        socket.Dispose();
    }
}
