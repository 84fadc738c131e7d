# The siv image: `siv node` workers and the `siv run --cluster` driver.
# Build the app first (the image only copies it, so no SDK image is needed):
#   dotnet publish src/SivActors.Cli -c Release -o artifacts/siv
#   docker build -t siv:local .                                   # on Microsoft's .NET runtime image
#   docker build -t siv:local --build-arg BASE_IMAGE=siv-dotnet-runtime:10.0 .   # on a locally built base
ARG BASE_IMAGE=mcr.microsoft.com/dotnet/runtime:10.0
FROM ${BASE_IMAGE}
WORKDIR /app
COPY artifacts/siv/ /app/
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_gcServer=0
EXPOSE 4053
ENTRYPOINT ["dotnet", "/app/siv.dll"]
CMD ["node", "--seeds", "127.0.0.1:4053"]
