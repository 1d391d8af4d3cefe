# The app in a container, for Hugging Face Spaces (Docker SDK) or any container host (docs/deploy.md).
#   docker build -t autoencoder-explorer . && docker run -p 7860:7860 autoencoder-explorer
FROM python:3.11-slim

# Spaces runs containers as uid 1000; the app needs no root anywhere.
RUN useradd --create-home --uid 1000 user
USER user
WORKDIR /home/user/app
ENV PATH=/home/user/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

# The README's install (scripts/setup.sh: .venv + requirements.txt, as CI runs it), with one step first: torch and
# torchvision at requirements.txt's pins from PyTorch's CPU index. PyPI's Linux torch is the CUDA build, gigabytes
# a CPU host never uses; setup.sh then finds both pins satisfied. Copied alone so code edits keep this layer cached.
COPY --chown=user requirements.txt ./
COPY --chown=user scripts/setup.sh scripts/
RUN python -m venv .venv \
 && .venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1 \
 && scripts/setup.sh

COPY --chown=user . .

# Spaces shows the app in an iframe on another site over HTTPS: uploads need the XSRF cookie sent cross-site
# (Streamlit marks it Secure). On a plain-HTTP host other than localhost, run with -e ..._SAME_SITE=lax.
ENV STREAMLIT_SERVER_XSRF_COOKIE_SAME_SITE=none
# Spaces sends traffic to app_port (README front matter), 7860; the server must listen on every interface.
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "app.py", "--server.port=7860", "--server.address=0.0.0.0"]
